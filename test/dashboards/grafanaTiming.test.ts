import { describe, expect, it } from "vitest";
import { grafanaTiming, roundIntervalMs } from "../../bench/dashboards/grafana";

describe("Grafana's query timing, as the dashboard benchmark sends it", () => {
  it("rounds intervals as Grafana's rangeutil does", () => {
    expect(roundIntervalMs(90_000)).toBe(120_000);
    expect(roundIntervalMs(630_000)).toBe(600_000);
    expect(roundIntervalMs(900_000)).toBe(900_000);
    expect(roundIntervalMs(2_700_000)).toBe(3_600_000);
  });

  it("fills $__interval, $__rate_interval and $__range for a half-width panel over 7 days", () => {
    const end = 1_800_000_000;
    const t = grafanaTiming({ width: 12 }, end, 7 * 86400);
    // 604,800 s over 960 points is 630 s, rounded to 10 m; the rate window adds one scrape interval.
    expect(t.stepSeconds).toBe(600);
    expect(t.builtins).toMatchObject({ __interval: "600s", __rate_interval: "615s", __range: "604800s" });
    expect(t.end % 600).toBe(0);
    expect(t.start % 600).toBe(0);
  });

  it("holds the interval at the scrape interval, or the panel's own minimum, for short ranges", () => {
    expect(grafanaTiming({ width: 24 }, 1_800_000_000, 3600).builtins.__rate_interval).toBe("60s");
    expect(grafanaTiming({ width: 24, interval: "1m" }, 1_800_000_000, 3600).stepSeconds).toBe(60);
  });
});
