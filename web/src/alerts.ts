import { belaqiColour, textOn } from './belaqi.js';
import { h } from './dom.js';
import { belaqiLabel, type Language, t } from './i18n.js';
import { cityLabel } from './names.js';
import { type Alert, cityKey } from './types.js';

/** How long "back below" notices stay. */
const RECOVERY_MS = 60_000;

/**
 * The alert banner: every city at or above the threshold (the subscription's current state, then
 * each city that reaches it), and for a minute each city that fell back below it.
 */
export class AlertBanner {
  readonly #element: HTMLElement;
  readonly #active = new Map<string, Alert>();
  readonly #recovered = new Map<string, { alert: Alert; until: number }>();
  #threshold: number;

  constructor(element: HTMLElement, threshold: number) {
    this.#element = element;
    this.#threshold = threshold;
  }

  /** A new threshold: what was known of the old one no longer holds. */
  reset(threshold: number): void {
    this.#threshold = threshold;
    this.#active.clear();
    this.#recovered.clear();
  }

  push(alert: Alert): void {
    const key = cityKey(alert.city);
    if (alert.rising) {
      this.#active.set(key, alert);
      this.#recovered.delete(key);
    } else {
      this.#active.delete(key);
      this.#recovered.set(key, { alert, until: Date.now() + RECOVERY_MS });
    }
  }

  render(language: Language, now: number): void {
    for (const [key, { until }] of this.#recovered) if (until <= now) this.#recovered.delete(key);
    const item = (alert: Alert, key: 'alertRising' | 'alertFalling') => {
      const colour = belaqiColour(alert.current);
      const badge = h(
        'span',
        { class: 'badge small', 'aria-hidden': 'true' },
        String(alert.current),
      );
      badge.style.backgroundColor = colour;
      badge.style.color = textOn(colour);
      return h(
        'li',
        { class: key === 'alertRising' ? 'rising' : 'falling' },
        badge,
        t(language, key, {
          city: cityLabel(alert.city, language),
          current: alert.current,
          label: belaqiLabel(language, alert.current),
          threshold: this.#threshold,
        }),
      );
    };
    const active = [...this.#active.values()].sort((a, b) => b.current - a.current);
    this.#element.dataset.active = String(active.length);
    this.#element.replaceChildren(
      active.length === 0 && this.#recovered.size === 0
        ? h('p', { class: 'none' }, t(language, 'noAlerts', { threshold: this.#threshold }))
        : h(
            'ul',
            {},
            ...active.map((alert) => item(alert, 'alertRising')),
            ...[...this.#recovered.values()].map(({ alert }) => item(alert, 'alertFalling')),
          ),
    );
  }
}
