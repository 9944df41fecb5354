import { describe, expect, it } from 'vitest';
import { characterCount, fitsCharacters } from '../../src/domain/text';

describe('text lengths in characters a person sees', () => {
  it('counts an emoji as one character, however many UTF-16 units it takes', () => {
    expect(characterCount('👍🏽'.repeat(150))).toBe(150);
    expect('👍🏽'.repeat(150).length).toBe(600);
    expect(characterCount('👨‍👩‍👧‍👦'.repeat(3))).toBe(3);
    expect(characterCount('🇫🇷🇯🇵')).toBe(2);
    expect(characterCount('e\u0301')).toBe(1);
    expect(characterCount('')).toBe(0);
  });

  it('fits text by characters, not units', () => {
    expect(fitsCharacters('👍🏽'.repeat(200), 200)).toBe(true);
    expect(fitsCharacters('👍🏽'.repeat(201), 200)).toBe(false);
    expect(fitsCharacters('a'.repeat(200), 200)).toBe(true);
    expect(fitsCharacters('a'.repeat(201), 200)).toBe(false);
  });

  it('refuses a "character" of thousands of combining marks without counting it as one', () => {
    const zalgo = `a${'\u0301'.repeat(10_000)}`;
    expect(characterCount(zalgo)).toBe(1);
    expect(fitsCharacters(zalgo, 200)).toBe(false);
  });
});
