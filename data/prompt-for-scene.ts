import { type PromptConstraints, sceneConstraints } from './prompt-constraints.js';
import type { Scene } from './scene.js';
import { BACKGROUND_WORDS, NUMBER_WORDS, SHAPE_PLURALS } from './vocabulary.js';

/**
 * The canonical prompt of a scene, e.g. "two red circles and a blue square on a striped green
 * background". Deterministic: groups in first-appearance order, "," between all but the last
 * two groups, "and" before the last. `parsePrompt` of the result gives `sceneConstraints(scene)`.
 */
export function promptForScene(scene: Scene): string {
  return promptForConstraints(sceneConstraints(scene));
}

export function promptForConstraints(c: PromptConstraints): string {
  const groups = c.objects.map((g) => {
    const noun = g.count === 1 ? g.shape : SHAPE_PLURALS[g.shape];
    const count = g.count === 1 ? article(g.colour) : NUMBER_WORDS[g.count];
    if (count === undefined || g.count < 1) throw new RangeError(`object count ${g.count} is not 1..4`);
    return `${count} ${g.colour} ${noun}`;
  });
  const last = groups.pop();
  if (last === undefined) throw new RangeError('a prompt needs at least one object');
  const objects = groups.length === 0 ? last : `${groups.join(', ')} and ${last}`;
  const kind = BACKGROUND_WORDS[c.background.kind];
  return `${objects} on ${article(kind)} ${kind} ${c.background.colour} background`;
}

function article(nextWord: string): string {
  return /^[aeiou]/.test(nextWord) ? 'an' : 'a';
}
