/** What a scenario measured: figures against baselines of the same run, and targets. */

export interface Target {
  /** How the target reads, e.g. "≤ 1.3×". */
  readonly text: string;
  /** Undefined in --quick runs: smoke runs judge nothing. */
  readonly met?: boolean;
}

export interface Figure {
  readonly measure: string;
  readonly value: number;
  readonly unit: string;
  readonly baseline?: { readonly measure: string; readonly value: number };
  /** value / baseline.value */
  readonly ratio?: number;
  readonly target?: Target;
}

export interface ScenarioResult {
  readonly scenario: string;
  readonly title: string;
  readonly figures: readonly Figure[];
  /** Markdown paragraphs: how the figures were taken, what they mean. */
  readonly notes: readonly string[];
  /** Markdown: the profile that explains a missed target. */
  readonly profile?: string;
  readonly seconds: number;
}

export interface RatioArgs {
  readonly measure: string;
  readonly value: number;
  readonly unit: string;
  readonly baseline: { readonly measure: string; readonly value: number };
  /** Target: the ratio must be at most this... */
  readonly atMost?: number;
  /** ...or at least this. */
  readonly atLeast?: number;
  /** False in --quick runs. */
  readonly judge: boolean;
}

/** A figure with its baseline and ratio, and the target on that ratio if there is one. */
export function ratioFigure(args: RatioArgs): Figure {
  const ratio = args.value / args.baseline.value;
  let target: Target | undefined;
  if (args.atMost !== undefined) {
    target = { text: `≤ ${args.atMost}×`, met: args.judge ? ratio <= args.atMost : undefined };
  } else if (args.atLeast !== undefined) {
    target = { text: `≥ ${args.atLeast}×`, met: args.judge ? ratio >= args.atLeast : undefined };
  }
  return {
    measure: args.measure,
    value: args.value,
    unit: args.unit,
    baseline: args.baseline,
    ratio,
    ...(target ? { target } : {}),
  };
}

/** A figure with an absolute target (e.g. p99 ≤ 1000 ms), or none. */
export function plainFigure(args: {
  readonly measure: string;
  readonly value: number;
  readonly unit: string;
  readonly atMost?: number;
  readonly judge: boolean;
}): Figure {
  if (args.atMost === undefined)
    return { measure: args.measure, value: args.value, unit: args.unit };
  return {
    measure: args.measure,
    value: args.value,
    unit: args.unit,
    target: {
      text: `≤ ${args.atMost} ${args.unit}`,
      met: args.judge ? args.value <= args.atMost : undefined,
    },
  };
}

export function missedTargets(result: ScenarioResult): Figure[] {
  return result.figures.filter((figure) => figure.target?.met === false);
}
