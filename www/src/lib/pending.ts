// The prompt typed on the workspace home travels to the app page, which sends it as the
// run's first chat message. It is kept per run in sessionStorage so that a reload before it
// was sent still sends it, once.

const key = (runId: string) => `second:first-message:${runId}`;

export function setPendingPrompt(runId: string, prompt: string): void {
  try {
    sessionStorage.setItem(key(runId), prompt);
  } catch {
    /* storage full or disabled: the app page shows an empty chat instead */
  }
}

/** Returns the pending prompt of the run and forgets it. */
export function takePendingPrompt(runId: string): string | null {
  try {
    const v = sessionStorage.getItem(key(runId));
    if (v !== null) sessionStorage.removeItem(key(runId));
    return v;
  } catch {
    return null;
  }
}
