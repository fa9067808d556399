import { CascadeError } from '../util/cascade-error.js';
import { promptWords } from './prompt-words.js';
import { PAD_TOKEN_ID, PROMPT_TOKENS, TOKEN_IDS, VOCABULARY } from './vocabulary.js';

/**
 * Prompt -> PROMPT_TOKENS token ids (Int32Array), words first then PAD. The empty prompt gives
 * all PAD (the null prompt). Only the vocabulary is checked here; `parsePrompt` checks grammar.
 */
export function tokenizePrompt(prompt: string, length: number = PROMPT_TOKENS): Int32Array {
  const words = promptWords(prompt);
  if (words.length > length) {
    throw new CascadeError(
      'INVALID_PROMPT',
      `prompt "${prompt}" has ${words.length} words, more than the ${length} tokens a prompt may hold; use at most 4 objects and the grammar in data/vocabulary.ts`,
      { details: { prompt, words: words.length, maxTokens: length } },
    );
  }
  const ids = new Int32Array(length).fill(PAD_TOKEN_ID);
  words.forEach((word, i) => {
    const id = TOKEN_IDS.get(word);
    if (id === undefined || id === PAD_TOKEN_ID) throw unknownWord(prompt, word, i);
    ids[i] = id;
  });
  return ids;
}

/** Token ids -> prompt text (PAD dropped); the inverse of tokenizePrompt for valid prompts. */
export function detokenizePrompt(ids: ArrayLike<number>): string {
  const words: string[] = [];
  for (let i = 0; i < ids.length; i++) {
    const id = ids[i]!;
    if (id === PAD_TOKEN_ID) continue;
    const word = VOCABULARY[id];
    if (word === undefined) {
      throw new CascadeError(
        'INVALID_PROMPT',
        `token id ${id} at position ${i} is outside the vocabulary (0..${VOCABULARY.length - 1})`,
      );
    }
    words.push(word);
  }
  return words.join(' ').replace(/ ,/g, ',');
}

export function unknownWord(prompt: string, word: string, index: number): CascadeError {
  const vocabulary = VOCABULARY.filter((w) => w !== VOCABULARY[PAD_TOKEN_ID]);
  return new CascadeError(
    'INVALID_PROMPT',
    `unknown word "${word}" (word ${index + 1}) in prompt "${prompt}"; the vocabulary is: ${vocabulary.join(' ')}`,
    { details: { prompt, word, index, vocabulary } },
  );
}
