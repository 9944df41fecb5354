/**
 * Lengths of text as a person counts them: in characters they see (extended grapheme clusters), so 150 emoji
 * are 150 whether each takes 1, 2 or 11 UTF-16 units.
 */
const graphemes = new Intl.Segmenter(undefined, { granularity: 'grapheme' });

/**
 * UTF-16 units one character may take on average. Text longer than that per allowed character is refused
 * without being segmented: a "character" of thousands of combining marks is not text anyone typed.
 */
const MAX_UNITS_PER_CHARACTER = 32;

export function characterCount(text: string): number {
  let count = 0;
  for (const _ of graphemes.segment(text)) count++;
  return count;
}

/** Whether `text` has at most `max` characters (and at most 32 UTF-16 units per character on average). */
export function fitsCharacters(text: string, max: number): boolean {
  if (text.length <= max) return true;
  if (text.length > max * MAX_UNITS_PER_CHARACTER) return false;
  return characterCount(text) <= max;
}
