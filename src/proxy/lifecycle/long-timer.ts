/** setTimeout's delay is a signed 32-bit number of milliseconds; longer waits re-arm. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** Calls `fire` at `at` (at once if it has passed). The timer never keeps the process alive. */
export function timerAt(at: Date, fire: () => void, now: () => number = Date.now): { cancel(): void } {
  let timer: NodeJS.Timeout | null = null;
  const arm = () => {
    const left = at.getTime() - now();
    timer = setTimeout(left > MAX_TIMER_MS ? arm : fire, Math.max(0, Math.min(left, MAX_TIMER_MS)));
    timer.unref();
  };
  arm();
  return {
    cancel: () => {
      if (timer) clearTimeout(timer);
      timer = null;
    },
  };
}
