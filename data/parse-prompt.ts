import { CascadeError } from '../util/cascade-error.js';
import { COLOUR_NAMES, type ColourName, isColourName } from './palette.js';
import type { PromptConstraints } from './prompt-constraints.js';
import { promptWords } from './prompt-words.js';
import { BACKGROUND_KINDS, type BackgroundKind, SHAPE_KINDS, type ShapeKind } from './scene.js';
import { unknownWord } from './tokenize-prompt.js';
import { BACKGROUND_WORDS, COUNT_WORDS, MAX_OBJECTS, PAD, SHAPE_PLURALS, TOKEN_IDS } from './vocabulary.js';

/**
 * Parses a prompt of the grammar in data/vocabulary.ts into constraints. Groups naming the same
 * colour and shape are merged. Throws CascadeError('INVALID_PROMPT') on an unknown word (the
 * message lists the vocabulary) or a grammar error (the message names the word and its position
 * and what was expected there).
 */
export function parsePrompt(prompt: string): PromptConstraints {
  const words = promptWords(prompt);
  words.forEach((w, i) => {
    if (!TOKEN_IDS.has(w) || w === PAD) throw unknownWord(prompt, w, i);
  });
  let i = 0;
  const fail = (expected: string): never => {
    const found = i < words.length ? `"${words[i]}" (word ${i + 1})` : 'the end of the prompt';
    throw new CascadeError('INVALID_PROMPT', `in prompt "${prompt}": expected ${expected}, found ${found}`, {
      details: { prompt, index: i, expected },
    });
  };
  const groups: { count: number; colour: ColourName; shape: ShapeKind }[] = [];
  for (;;) {
    const countWord = words[i];
    const count = countWord === undefined ? undefined : COUNT_WORDS[countWord];
    if (count === undefined) fail(`a count (${Object.keys(COUNT_WORDS).join(', ')})`);
    i++;
    const colour = words[i];
    if (colour === undefined || !isColourName(colour)) fail(`a colour (${COLOUR_NAMES.join(', ')})`);
    i++;
    const shape = readShape(words[i], count!);
    if (shape === undefined) {
      fail(
        count === 1
          ? `a shape (${SHAPE_KINDS.join(', ')})`
          : `a plural shape (${Object.values(SHAPE_PLURALS).join(', ')})`,
      );
    }
    i++;
    const existing = groups.find((g) => g.colour === colour && g.shape === shape);
    if (existing) existing.count += count!;
    else groups.push({ count: count!, colour: colour as ColourName, shape: shape! });
    const next = words[i];
    if (next === ',' || next === 'and') {
      i++;
      continue;
    }
    if (next === 'on') {
      i++;
      break;
    }
    fail(`",", "and" or "on"`);
  }
  const total = groups.reduce((n, g) => n + g.count, 0);
  if (total > MAX_OBJECTS) {
    throw new CascadeError(
      'INVALID_PROMPT',
      `prompt "${prompt}" asks for ${total} objects; at most ${MAX_OBJECTS} are allowed`,
      {
        details: { prompt, objects: total },
      },
    );
  }
  if (words[i] !== 'a' && words[i] !== 'an') fail('"a" or "an" before the background');
  i++;
  let kind: BackgroundKind = 'solid';
  const named = BACKGROUND_KINDS.find((k) => BACKGROUND_WORDS[k] === words[i]);
  if (named !== undefined) {
    kind = named;
    i++;
  }
  const bgColour = words[i];
  if (bgColour === undefined || !isColourName(bgColour)) {
    fail(
      `a background colour (${COLOUR_NAMES.join(', ')})${named === undefined ? ` or a background kind (${Object.values(BACKGROUND_WORDS).join(', ')})` : ''}`,
    );
  }
  i++;
  if (words[i] !== 'background') fail('"background"');
  i++;
  if (i < words.length) fail('the end of the prompt after "background"');
  return { objects: groups, background: { kind, colour: bgColour as ColourName } };
}

function readShape(word: string | undefined, count: number): ShapeKind | undefined {
  if (word === undefined) return undefined;
  if (count === 1) return (SHAPE_KINDS as readonly string[]).includes(word) ? (word as ShapeKind) : undefined;
  return SHAPE_KINDS.find((s) => SHAPE_PLURALS[s] === word);
}
