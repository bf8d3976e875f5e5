import { describe, expect, it } from 'vitest';
import { backoffDelay } from '../web/src/backoff.js';
import { BELAQI_COLOURS, belaqiColour, contrast, textOn } from '../web/src/belaqi.js';
import {
  BELAQI_LABELS,
  browserLanguage,
  EAQI_LABELS,
  LANGUAGES,
  STRINGS,
  t,
} from '../web/src/i18n.js';

/** The page's modules that hold no DOM: its scale, its words and its backoff. */

describe('the BelAQI scale of the page', () => {
  it("has IRCEL-CELINE's colour for each level, with text that contrasts at least 4.5:1", () => {
    expect(BELAQI_COLOURS).toHaveLength(10);
    const pairs = BELAQI_COLOURS.map((colour) => [colour, textOn(colour)] as const);
    expect(pairs.map(([, text]) => text)).toEqual([
      '#FFFFFF',
      '#000000',
      '#000000',
      '#000000',
      '#000000',
      '#000000',
      '#000000',
      '#000000',
      '#FFFFFF',
      '#FFFFFF',
    ]);
    for (const [colour, text] of pairs) {
      expect([colour, contrast(colour, text) >= 4.5]).toEqual([colour, true]);
    }
    expect(contrast('#000000', '#FFFFFF')).toBe(21);
    expect(belaqiColour(10)).toBe('#990099');
    expect(belaqiColour(null)).toBe('#D0D2D3');
    expect(belaqiColour(11)).toBe('#D0D2D3');
  });
});

describe('the words of the page', () => {
  it('has every string in Dutch, French and English, with the same placeholders', () => {
    const placeholders = (text: string) => [...text.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();
    for (const [key, byLanguage] of Object.entries(STRINGS)) {
      expect([key, Object.keys(byLanguage).sort()]).toEqual([key, [...LANGUAGES].sort()]);
      for (const language of LANGUAGES) {
        const text = (byLanguage as Record<string, string>)[language] ?? '';
        expect([key, language, text.trim().length > 0]).toEqual([key, language, true]);
        expect([key, language, placeholders(text)]).toEqual([
          key,
          language,
          placeholders(byLanguage.en),
        ]);
      }
    }
    for (const language of LANGUAGES) expect(BELAQI_LABELS[language]).toHaveLength(10);
    for (const labels of Object.values(EAQI_LABELS))
      expect(Object.keys(labels).sort()).toEqual(['en', 'fr', 'nl']);
    expect(
      t('fr', 'alertRising', { city: 'Gent', current: 8, label: 'mauvais', threshold: 7 }),
    ).toBe('Gent : BelAQI 8 (mauvais), au niveau 7 ou plus');
  });

  it("takes the browser's first language it speaks, English otherwise", () => {
    expect(browserLanguage(['de-BE', 'fr-BE', 'nl'])).toBe('fr');
    expect(browserLanguage(['nl-BE'])).toBe('nl');
    expect(browserLanguage(['de-DE', 'es'])).toBe('en');
    expect(browserLanguage([])).toBe('en');
  });
});

describe('the reconnection backoff', () => {
  it('doubles from 0.5 s up to 30 s, half of it random', () => {
    const low = (n: number) => backoffDelay(n, { random: () => 0 });
    const high = (n: number) => backoffDelay(n, { random: () => 1 });
    expect([0, 1, 2, 3, 4, 5, 6, 7, 20].map(low)).toEqual([
      250, 500, 1000, 2000, 4000, 8000, 15_000, 15_000, 15_000,
    ]);
    expect([0, 1, 2, 3, 6, 20].map(high)).toEqual([500, 1000, 2000, 4000, 30_000, 30_000]);
    expect(backoffDelay(2, { random: () => 0.5 })).toBe(1500);
  });
});
