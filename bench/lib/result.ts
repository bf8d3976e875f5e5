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

export interface FigureArgs {
  readonly measure: string;
  readonly value: number;
  readonly unit: string;
  readonly baseline?: { readonly measure: string; readonly value: number };
  /** Target on the ratio to the baseline: at most this... */
  readonly ratioAtMost?: number;
  /** ...or at least this. */
  readonly ratioAtLeast?: number;
  /** Target on the value itself, in its unit: at most this. */
  readonly atMost?: number;
  /** False in --quick runs: nothing is judged. */
  readonly judge: boolean;
}

/** A figure with its baseline and ratio if it has one, and its target if it has one. */
export function figure(args: FigureArgs): Figure {
  const ratio = args.baseline ? args.value / args.baseline.value : undefined;
  const judged = (met: boolean) => (args.judge ? met : undefined);
  let target: Target | undefined;
  if (args.ratioAtMost !== undefined && ratio !== undefined) {
    target = { text: `≤ ${args.ratioAtMost}×`, met: judged(ratio <= args.ratioAtMost) };
  } else if (args.ratioAtLeast !== undefined && ratio !== undefined) {
    target = { text: `≥ ${args.ratioAtLeast}×`, met: judged(ratio >= args.ratioAtLeast) };
  } else if (args.atMost !== undefined) {
    target = { text: `≤ ${args.atMost} ${args.unit}`, met: judged(args.value <= args.atMost) };
  }
  return {
    measure: args.measure,
    value: args.value,
    unit: args.unit,
    ...(args.baseline ? { baseline: args.baseline } : {}),
    ...(ratio === undefined ? {} : { ratio }),
    ...(target ? { target } : {}),
  };
}

export function missedTargets(result: ScenarioResult): Figure[] {
  return result.figures.filter((figure) => figure.target?.met === false);
}
