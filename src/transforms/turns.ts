/**
 * Large bodies take turns on the event loop. Transforming a 1 MB JSON body costs 15–40 ms of the
 * loop (JSON.parse, the mapping, JSON.stringify), and a thread would not help: the value has to
 * come back, and receiving it costs as much as parsing it. What starves other requests is 120
 * such bodies completing in the same poll phase and being transformed back to back, for seconds,
 * before the loop looks at a socket again. So each large body waits for a turn of its own: one is
 * released per iteration of the loop (setImmediate, in arrival order), and between two of them
 * the loop serves whatever else arrived, `/healthz` included. A body never waits longer than the
 * large ones ahead of it, and the whole costs one loop iteration per large body.
 */

const waiting: (() => void)[] = [];
let scheduled = false;

/** Resolves on a later turn of the event loop than any other caller's, in the order of the calls. */
export function nextTurn(): Promise<void> {
  return new Promise((resolve) => {
    waiting.push(resolve);
    if (!scheduled) {
      scheduled = true;
      setImmediate(release);
    }
  });
}

function release(): void {
  const next = waiting.shift();
  // An immediate scheduled from an immediate runs on the next iteration, after the poll phase.
  if (waiting.length > 0) setImmediate(release);
  else scheduled = false;
  next?.();
}
