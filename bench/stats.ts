/** Order statistics for the benchmark tables: the p-th percentile by nearest rank (50 = median). */
export function percentile(xs: number[], p: number): number {
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

export const median = (xs: number[]): number => percentile(xs, 50);
