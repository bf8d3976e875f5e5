import { type Language, LOCALES } from './i18n.js';

/** Belgian time: the windows are computed in UTC, people read them in their own clock. */
const TIME_ZONE = 'Europe/Brussels';

const numbers = new Map<string, Intl.NumberFormat>();

/** A concentration as the page shows it: one decimal, the language's decimal sign. */
export function formatValue(language: Language, value: number): string {
  let format = numbers.get(language);
  if (!format) {
    format = new Intl.NumberFormat(LOCALES[language], {
      minimumFractionDigits: 1,
      maximumFractionDigits: 1,
    });
    numbers.set(language, format);
  }
  return format.format(value);
}

/** Hours and minutes in Belgian time. */
export function formatTime(language: Language, iso: string): string {
  return new Intl.DateTimeFormat(LOCALES[language], {
    hour: '2-digit',
    minute: '2-digit',
    timeZone: TIME_ZONE,
  }).format(new Date(iso));
}

/** Day and time in Belgian time, for a measurement that may be days old. */
export function formatDateTime(language: Language, iso: string): string {
  return new Intl.DateTimeFormat(LOCALES[language], {
    day: 'numeric',
    month: 'short',
    hour: '2-digit',
    minute: '2-digit',
    timeZone: TIME_ZONE,
  }).format(new Date(iso));
}

/** "12 seconds ago", "3 minutes ago", in the language. */
export function formatAgo(language: Language, iso: string, now: number): string {
  const seconds = Math.max(0, Math.round((now - new Date(iso).getTime()) / 1000));
  const format = new Intl.RelativeTimeFormat(LOCALES[language], { numeric: 'auto' });
  if (seconds < 60) return format.format(-seconds, 'second');
  if (seconds < 3600) return format.format(-Math.floor(seconds / 60), 'minute');
  if (seconds < 86_400) return format.format(-Math.floor(seconds / 3600), 'hour');
  return format.format(-Math.floor(seconds / 86_400), 'day');
}
