/**
 * The BelAQI colour scale, levels 1-10, as IRCEL-CELINE draws it on irceline.be: the legend of
 * the index in IRCEL-CELINE's map legends (github.com/irceline/map_legends, index_EN.svg,
 * index_NL.svg), the scale of November 2022 whose labels run from "excellent" to "horrible".
 *
 * Colour is never the only carrier: the number and the label stand beside it everywhere. The text
 * drawn on a colour is black or white, whichever contrasts more (WCAG 2 contrast ratio; every
 * level reaches at least 4.5:1, which a test checks).
 */
export const BELAQI_COLOURS = [
  '#0000FF', // 1 excellent
  '#0099FF', // 2 very good
  '#009900', // 3 good
  '#00FF00', // 4 fairly good
  '#FFFF00', // 5 moderate
  '#FFBB00', // 6 poor
  '#FF6600', // 7 very poor
  '#FF0000', // 8 bad
  '#CC0000', // 9 very bad
  '#990099', // 10 horrible
] as const;

/** What a city or station without a BelAQI is drawn in. */
export const NO_LEVEL_COLOUR = '#D0D2D3';

function channel(hex: string, offset: number): number {
  const value = Number.parseInt(hex.slice(offset, offset + 2), 16) / 255;
  return value <= 0.04045 ? value / 12.92 : ((value + 0.055) / 1.055) ** 2.4;
}

/** WCAG 2 relative luminance of #RRGGBB. */
export function luminance(hex: string): number {
  return 0.2126 * channel(hex, 1) + 0.7152 * channel(hex, 3) + 0.0722 * channel(hex, 5);
}

/** WCAG 2 contrast ratio of two #RRGGBB colours, 1 to 21. */
export function contrast(a: string, b: string): number {
  const [light, dark] = [luminance(a), luminance(b)].sort((x, y) => y - x) as [number, number];
  return (light + 0.05) / (dark + 0.05);
}

/** The colour of a level; the grey of "no level" for null or out of range. */
export function belaqiColour(level: number | null): string {
  return (level !== null && BELAQI_COLOURS[level - 1]) || NO_LEVEL_COLOUR;
}

/** Black or white, whichever reads better on the given background. */
export function textOn(background: string): '#000000' | '#FFFFFF' {
  return contrast(background, '#000000') >= contrast(background, '#FFFFFF') ? '#000000' : '#FFFFFF';
}
