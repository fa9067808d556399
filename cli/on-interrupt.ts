/**
 * Runs `cancel` on the first SIGINT or SIGTERM so work stops cleanly; a second signal exits at
 * once with the conventional status. Returns a function that removes the handlers.
 */
export function onInterrupt(cancel: () => void): () => void {
  let signalled = false;
  const handler = (signal: NodeJS.Signals): void => {
    if (signalled) process.exit(signal === 'SIGINT' ? 130 : 143);
    signalled = true;
    process.stderr.write(
      `\nStopping (${signal}): finishing the current step and cleaning up; press Ctrl-C again to quit at once.\n`,
    );
    cancel();
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
  return () => {
    process.off('SIGINT', handler);
    process.off('SIGTERM', handler);
  };
}
