import type { ConnectionState } from './api.js';
import { type Language, t } from './i18n.js';

/** The connection's state in words (and a dot whose colour repeats them). */
export function renderConnection(
  element: HTMLElement,
  state: ConnectionState,
  language: Language,
): void {
  element.dataset.state = state.kind;
  let text: string;
  switch (state.kind) {
    case 'connecting':
      text = t(language, 'connecting');
      break;
    case 'live':
      text = t(language, 'live');
      break;
    case 'reconnecting':
    case 'offline': {
      const head =
        state.kind === 'offline'
          ? t(language, navigator.onLine ? 'offline' : 'browserOffline')
          : t(language, 'reconnecting');
      text =
        state.nextInMs > 0
          ? `${head} (${t(language, 'nextAttempt', { attempt: state.attempt, seconds: Math.ceil(state.nextInMs / 1000) })})`
          : head;
      break;
    }
  }
  element.textContent = text;
}
