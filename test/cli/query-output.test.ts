import { describe, expect, it } from "vitest";
import { catalogFormat, resultTable } from "../../cli/queryOutput";
import { formatValue } from "../../cli/units";

const series = (gpu: string, hostname: string, value: string) => ({ metric: { __name__: "DCGM_FI_DEV_GPU_TEMP", gpu, Hostname: hostname }, value: [1_767_225_600, value] as [number, string] });

describe("query output people can read", () => {
  it("keeps label names as they are, orders GPUs by index and shows the catalog unit", () => {
    const data = { resultType: "vector" as const, result: [series("10", "b", "71.25"), series("2", "b", "66"), series("1", "a", "80.5"), series("2", "a", "59.999")] };
    const lines = resultTable(data, catalogFormat("DCGM_FI_DEV_GPU_TEMP")).trim().split("\n").map((l) => l.split(/\s{2,}/));
    expect(lines[0]).toEqual(["__name__", "gpu", "Hostname", "VALUE"]);
    expect(lines.slice(1).map((c) => [c[1], c[2], c[3]])).toEqual([
      ["1", "a", "80.5 °C"],
      ["2", "a", "60 °C"],
      ["2", "b", "66 °C"],
      ["10", "b", "71.25 °C"],
    ]);
  });

  it("summarises each series of a range result as min, avg, max and last", () => {
    const values: [number, string][] = Array.from({ length: 120 }, (_, i) => [1_767_225_600 + i, String(i % 2 === 0 ? 10 : 30)]);
    const data = { resultType: "matrix" as const, result: [{ metric: { gpu: "0" }, values }] };
    const table = resultTable(data, catalogFormat("avg by (gpu) (DCGM_FI_DEV_GPU_UTIL)"));
    expect(table.trim().split("\n")).toEqual(["gpu  MIN   AVG   MAX   LAST  POINTS", "0    10 %  20 %  30 %  30 %  120"]);
    expect(resultTable(data, catalogFormat("x"), { raw: true }).trim().split("\n")).toHaveLength(121);
  });

  it("formats each catalog unit", () => {
    expect(formatValue("0.8734", "percentunit")).toBe("87.34 %");
    expect(formatValue("1610612736", "bytes")).toBe("1.5 GiB");
    expect(formatValue("40536", "decmbytes")).toBe("40.54 GB");
    expect(formatValue("250.123456", "watt")).toBe("250.1 W");
    expect(formatValue("0.0042", "s")).toBe("4.2 ms");
    expect(formatValue("5400", "s")).toBe("90 min");
    expect(formatValue("1536", "Bps")).toBe("1.5 KiB/s");
    expect(formatValue("NaN", "percent")).toBe("NaN");
    expect(formatValue("0.123456789", undefined)).toBe("0.123");
  });
});
