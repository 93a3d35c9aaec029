/** PanDA's time text: `"%Y-%m-%d %H:%M:%S"` in UTC, as update_job takes it and diags show it. */

export function formatPandaTime(ms: number): string {
  return new Date(ms).toISOString().slice(0, 19).replace('T', ' ');
}

/**
 * time.strptime(text, "%Y-%m-%d %H:%M:%S") in UTC; undefined when Python would raise (the server
 * then logs "Invalid startTime=..." and ignores the field, srv pilot_api.py::update_job).
 */
export function parsePandaTime(text: string): number | undefined {
  const m = /^(\d{4})-(\d{1,2})-(\d{1,2}) (\d{1,2}):(\d{1,2}):(\d{1,2})$/.exec(text);
  if (m === null) return undefined;
  const [year, month, day, hour, minute, second] = m.slice(1).map(Number) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  if (month < 1 || month > 12 || hour > 23 || minute > 59 || second > 61) return undefined;
  const ms = Date.UTC(year, month - 1, day, hour, minute, Math.min(second, 59));
  // Date.UTC rolls 31 February over into March; strptime refuses it.
  return new Date(ms).getUTCDate() === day ? ms : undefined;
}
