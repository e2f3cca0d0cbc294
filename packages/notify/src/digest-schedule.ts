/** The local calendar day (YYYY-MM-DD) and minute of the day at `now` in `timeZone`. */
export function localClock(now: Date, timeZone: string): { day: string; minuteOfDay: number } {
  const parts = Object.fromEntries(
    new Intl.DateTimeFormat("en-CA", {
      timeZone,
      year: "numeric",
      month: "2-digit",
      day: "2-digit",
      hour: "2-digit",
      minute: "2-digit",
      hourCycle: "h23",
    })
      .formatToParts(now)
      .map((p) => [p.type, p.value]),
  );
  return { day: `${parts.year}-${parts.month}-${parts.day}`, minuteOfDay: Number(parts.hour) * 60 + Number(parts.minute) };
}

/** Today's digest is due once the local time reaches `time` (HH:MM); `day` is what digest_runs is unique on. */
export function digestDue(now: Date, timeZone: string, time: string): { due: boolean; day: string } {
  const [h, m] = time.split(":").map(Number);
  const { day, minuteOfDay } = localClock(now, timeZone);
  return { due: minuteOfDay >= (h ?? 8) * 60 + (m ?? 0), day };
}
