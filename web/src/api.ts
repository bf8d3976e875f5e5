import { type Client, createClient } from 'graphql-ws';
import { backoffDelay } from './backoff.js';
import type { Alert, CityWindow, HistoryPoint } from './types.js';

/**
 * The page's client of the public GraphQL API: one graphql-ws connection on the page's own origin
 * for the subscriptions and the queries alike. It never gives up: after a lost connection it
 * retries with jittered exponential backoff, and graphql-ws subscribes again on the new
 * connection, whose first items are the current state.
 */

/** The fields that name a city; add `names { nl fr de en }` here when the API has them. */
const CITY_NAME_FIELDS = 'name names { nl fr de en } country';

const WINDOWS = `subscription DashboardWindows {
  airQuality(country: "BE") {
    city { ${CITY_NAME_FIELDS} latitude longitude
      locations { name latitude longitude sourceName licence attribution latest { parameter value unit measuredAt } } }
    run { id evaluatedAt }
    windowStart windowEnd belaqi eaqi
    pollutants { parameter unit average min max count locations latestMeasuredAt belaqi eaqi }
  }
}`;

const ALERTS = `subscription DashboardAlerts($atLeast: Int!) {
  airQualityAlerts(country: "BE", atLeast: $atLeast) {
    city { ${CITY_NAME_FIELDS} } run { id evaluatedAt } previous current rising
  }
}`;

const HISTORY = `query DashboardHistory($cities: [String!], $from: DateTime!, $to: DateTime!) {
  airQuality(cities: $cities, country: "BE") {
    city { name country history(from: $from, to: $to) { windowEnd belaqi } }
  }
}`;

/** City.history reads at most 31 city-days per operation: 24 hours for 30 cities at a time. */
const HISTORY_CITIES_PER_QUERY = 30;

export type ConnectionState =
  | { readonly kind: 'connecting' }
  | { readonly kind: 'live' }
  | { readonly kind: 'reconnecting'; readonly attempt: number; readonly nextInMs: number }
  | { readonly kind: 'offline'; readonly attempt: number; readonly nextInMs: number };

/** Failed attempts in a row after which the page says it is offline (still retrying). */
const OFFLINE_AFTER_ATTEMPTS = 4;

export interface Sink<T> {
  next(value: T): void;
  error(error: unknown): void;
}

export interface Api {
  /** The current window of every Belgian city, then each new one. */
  windows(sink: Sink<CityWindow>): () => void;
  /** The cities at or above atLeast, then each crossing. */
  alerts(atLeast: number, sink: Sink<Alert>): () => void;
  /** The BelAQI of the named Belgian cities over [from, to], by city key (country/name). */
  history(names: readonly string[], from: Date, to: Date): Promise<Map<string, HistoryPoint[]>>;
  /** Called with every change of the connection; `reconnected` after a connection came back. */
  onState(listener: (state: ConnectionState) => void): void;
  onReconnected(listener: () => void): void;
}

function errorText(errors: unknown): string {
  if (Array.isArray(errors)) {
    return errors.map((e) => (e as { message?: string }).message ?? String(e)).join('; ');
  }
  return errors instanceof Error ? errors.message : String(errors);
}

export function createApi(url: string): Api {
  const stateListeners: ((state: ConnectionState) => void)[] = [];
  const reconnectListeners: (() => void)[] = [];
  let failures = 0;
  let everConnected = false;
  const setState = (state: ConnectionState) => {
    for (const listener of stateListeners) listener(state);
  };

  const client: Client = createClient({
    url,
    lazy: false,
    keepAlive: 10_000,
    retryAttempts: Number.POSITIVE_INFINITY,
    shouldRetry: () => true,
    retryWait: async (retries) => {
      const nextInMs = backoffDelay(retries);
      failures = retries + 1;
      const kind =
        failures >= OFFLINE_AFTER_ATTEMPTS || !navigator.onLine ? 'offline' : 'reconnecting';
      setState({ kind, attempt: failures, nextInMs });
      await new Promise((resolve) => setTimeout(resolve, nextInMs));
    },
    on: {
      connected: () => {
        const again = everConnected;
        everConnected = true;
        failures = 0;
        setState({ kind: 'live' });
        if (again) for (const listener of reconnectListeners) listener();
      },
      closed: () => {
        if (everConnected || failures > 0) {
          setState({
            kind: failures >= OFFLINE_AFTER_ATTEMPTS ? 'offline' : 'reconnecting',
            attempt: failures + 1,
            nextInMs: 0,
          });
        }
      },
    },
  });

  function subscribe<T>(
    query: string,
    variables: Record<string, unknown>,
    field: string,
    sink: Sink<T>,
  ) {
    return client.subscribe<Record<string, T>>(
      { query, variables },
      {
        next: (result) => {
          if (result.errors) sink.error(new Error(errorText(result.errors)));
          const value = result.data?.[field];
          if (value) sink.next(value);
        },
        error: (error) => sink.error(new Error(errorText(error))),
        complete: () => {},
      },
    );
  }

  async function query<T>(text: string, variables: Record<string, unknown>): Promise<T> {
    const iterator = client.iterate<T>({ query: text, variables });
    const { value } = await iterator.next();
    await iterator.return?.();
    if (!value || value.errors) throw new Error(errorText(value?.errors ?? 'no answer'));
    return value.data as T;
  }

  return {
    windows: (sink) => subscribe(WINDOWS, {}, 'airQuality', sink),
    alerts: (atLeast, sink) => subscribe(ALERTS, { atLeast }, 'airQualityAlerts', sink),
    async history(cities, from, to) {
      const byCity = new Map<string, HistoryPoint[]>();
      for (let i = 0; i < cities.length; i += HISTORY_CITIES_PER_QUERY) {
        const names = cities.slice(i, i + HISTORY_CITIES_PER_QUERY);
        const data = await query<{
          airQuality: { city: { name: string; country: string; history: HistoryPoint[] } }[];
        }>(HISTORY, { cities: names, from: from.toISOString(), to: to.toISOString() });
        for (const { city } of data.airQuality)
          byCity.set(`${city.country}/${city.name}`, city.history);
      }
      return byCity;
    },
    onState: (listener) => void stateListeners.push(listener),
    onReconnected: (listener) => void reconnectListeners.push(listener),
  };
}
