/**
 * Runs the sides in turn, `rounds` times (A B A B ...), after one unmeasured warm-up round, and
 * returns each side's measurements in round order.
 */
export async function alternate<M>(
  rounds: number,
  sides: ReadonlyArray<() => Promise<M>>,
  { warmup = true }: { warmup?: boolean } = {},
): Promise<M[][]> {
  if (warmup) for (const side of sides) await side();
  const out: M[][] = sides.map(() => []);
  for (let r = 0; r < rounds; r++) {
    for (let s = 0; s < sides.length; s++) out[s]!.push(await sides[s]!());
  }
  return out;
}
