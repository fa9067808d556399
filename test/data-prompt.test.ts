import { describe, expect, it } from 'vitest';
import { parsePrompt } from '../data/parse-prompt.js';
import { sameConstraints, sceneConstraints } from '../data/prompt-constraints.js';
import { promptForScene } from '../data/prompt-for-scene.js';
import { sampleScene } from '../data/sample-scene.js';
import { detokenizePrompt, tokenizePrompt } from '../data/tokenize-prompt.js';
import { PAD_TOKEN_ID, PROMPT_TOKENS, VOCABULARY } from '../data/vocabulary.js';
import { type CascadeError, isCascadeError } from '../util/cascade-error.js';

function caught(fn: () => unknown): CascadeError {
  try {
    fn();
  } catch (error) {
    if (isCascadeError(error)) return error;
    throw error;
  }
  throw new Error('expected a CascadeError');
}

describe('promptForScene / parsePrompt', () => {
  it('round-trips 2000 sampled scenes', () => {
    const lengths = new Set<number>();
    for (let seed = 0; seed < 2000; seed++) {
      const scene = sampleScene(seed);
      const prompt = promptForScene(scene);
      expect(sameConstraints(parsePrompt(prompt), sceneConstraints(scene))).toBe(true);
      const tokens = tokenizePrompt(prompt);
      expect(detokenizePrompt(tokens)).toBe(prompt);
      lengths.add(prompt.split(/[ ,]+/).length);
    }
    expect(Math.max(...lengths)).toBeLessThanOrEqual(PROMPT_TOKENS);
  });

  it('writes the documented grammar', () => {
    const scene = sampleScene(1, {
      constraints: parsePrompt('two red circles and an orange square on a striped green background'),
    });
    expect(promptForScene(scene)).toBe('two red circles and an orange square on a striped green background');
    const three = parsePrompt('a red circle, a blue star and two white rings on a fading cyan background');
    expect(three).toEqual({
      objects: [
        { count: 1, colour: 'red', shape: 'circle' },
        { count: 1, colour: 'blue', shape: 'star' },
        { count: 2, colour: 'white', shape: 'ring' },
      ],
      background: { kind: 'gradient', colour: 'cyan' },
    });
    expect(promptForScene(sampleScene(2, { constraints: three }))).toBe(
      'a red circle, a blue star and two white rings on a fading cyan background',
    );
  });

  it('accepts case, spacing and an omitted background kind; merges repeated groups', () => {
    const c = parsePrompt('  A Red Circle AND one red circle on a  BLUE background ');
    expect(c).toEqual({
      objects: [{ count: 2, colour: 'red', shape: 'circle' }],
      background: { kind: 'solid', colour: 'blue' },
    });
  });

  it('rejects unknown words, listing the vocabulary', () => {
    const e = caught(() => parsePrompt('a pink circle on a plain blue background'));
    expect(e.code).toBe('INVALID_PROMPT');
    expect(e.message).toContain('"pink"');
    expect(e.message).toContain('word 2');
    for (const w of ['circle', 'purple', 'checkered', 'background']) expect(e.message).toContain(w);
    expect(caught(() => tokenizePrompt('a pink circle')).code).toBe('INVALID_PROMPT');
  });

  it('reports grammar errors with the position and what was expected', () => {
    const plural = caught(() => parsePrompt('two red circle on a plain blue background'));
    expect(plural.message).toMatch(/expected a plural shape.*found "circle" \(word 3\)/);
    const missingOn = caught(() => parsePrompt('a red circle a plain blue background'));
    expect(missingOn.message).toMatch(/expected ",", "and" or "on", found "a" \(word 4\)/);
    const truncated = caught(() => parsePrompt('a red circle on a plain blue'));
    expect(truncated.message).toContain('expected "background", found the end of the prompt');
    const trailing = caught(() => parsePrompt('a red circle on a plain blue background and'));
    expect(trailing.message).toContain('expected the end of the prompt');
    const tooMany = caught(() =>
      parsePrompt('three red circles and two blue stars on a plain white background'),
    );
    expect(tooMany.message).toContain('5 objects');
    expect(caught(() => parsePrompt('')).code).toBe('INVALID_PROMPT');
  });
});

describe('tokenizePrompt', () => {
  it('gives fixed-length ids with PAD after the words', () => {
    const ids = tokenizePrompt('a red circle, a blue star on a plain white background');
    expect(ids).toBeInstanceOf(Int32Array);
    expect(ids.length).toBe(PROMPT_TOKENS);
    const words = ['a', 'red', 'circle', ',', 'a', 'blue', 'star', 'on', 'a', 'plain', 'white', 'background'];
    expect([...ids.slice(0, words.length)].map((i) => VOCABULARY[i])).toEqual(words);
    expect([...ids.slice(words.length)].every((i) => i === PAD_TOKEN_ID)).toBe(true);
    expect([...ids].every((i) => i >= 0 && i < VOCABULARY.length)).toBe(true);
  });

  it('maps the empty prompt to all PAD (the null prompt) and honours a custom length', () => {
    expect([...tokenizePrompt('')].every((i) => i === PAD_TOKEN_ID)).toBe(true);
    expect(tokenizePrompt('a red circle on a blue background', 10).length).toBe(10);
    expect(caught(() => tokenizePrompt('a red circle on a blue background', 4)).message).toContain(
      'more than the 4 tokens',
    );
  });

  it('has a vocabulary of unique words with PAD first', () => {
    expect(VOCABULARY[0]).toBe('[pad]');
    expect(new Set(VOCABULARY).size).toBe(VOCABULARY.length);
  });
});
