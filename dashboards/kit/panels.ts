import * as bargauge from "@grafana/grafana-foundation-sdk/bargauge";
import type * as cog from "@grafana/grafana-foundation-sdk/cog";
import * as common from "@grafana/grafana-foundation-sdk/common";
import * as dashboard from "@grafana/grafana-foundation-sdk/dashboard";
import * as gauge from "@grafana/grafana-foundation-sdk/gauge";
import * as heatmap from "@grafana/grafana-foundation-sdk/heatmap";
import * as piechart from "@grafana/grafana-foundation-sdk/piechart";
import * as prometheus from "@grafana/grafana-foundation-sdk/prometheus";
import * as stat from "@grafana/grafana-foundation-sdk/stat";
import * as statetimeline from "@grafana/grafana-foundation-sdk/statetimeline";
import * as table from "@grafana/grafana-foundation-sdk/table";
import * as timeseries from "@grafana/grafana-foundation-sdk/timeseries";
import { prometheusRef } from "./datasource";

/** One PromQL query of a panel. */
export interface QueryDef {
  readonly expr: string;
  /** Grafana legend template, e.g. "GPU {{gpu}}". */
  readonly legend?: string;
  /** Evaluate once at the end of the range (stats, tables) instead of over the range. */
  readonly instant?: boolean;
  /** Table format: one row per series with its labels as columns. */
  readonly table?: boolean;
}

/** A panel builder the layout can still number and place. */
export interface PlaceablePanel extends cog.Builder<dashboard.Panel> {
  id(id: number): unknown;
  gridPos(gridPos: dashboard.GridPos): unknown;
}

/** A panel with what it queries and whether its queries must return data on a healthy stack. */
export interface PanelDef {
  readonly title: string;
  readonly description: string;
  readonly width: number;
  readonly height: number;
  readonly queries: readonly QueryDef[];
  /** False where an empty result is a healthy state (no errors, no alerts) or the source is optional. */
  readonly expectData: boolean;
  readonly builder: PlaceablePanel;
}

/** A threshold step: colour from this value up (null: the base colour). */
export type Step = readonly [color: string, from: number | null];

export interface PanelOptions {
  readonly title: string;
  readonly description: string;
  readonly queries: readonly QueryDef[];
  readonly unit?: string;
  readonly width?: number;
  readonly height?: number;
  readonly thresholds?: readonly Step[];
  readonly min?: number;
  readonly max?: number;
  readonly decimals?: number;
  readonly expectData?: boolean;
  readonly mappings?: readonly dashboard.ValueMapping[];
  readonly noValue?: string;
  readonly links?: readonly DataLink[];
}

/**
 * A data link from a panel's values to a related dashboard; the URL may use Grafana's field
 * variables, e.g. `${__field.labels.user}`.
 */
export interface DataLink {
  readonly title: string;
  readonly url: string;
}

/** Methods every SDK panel builder shares; the generic helper below sets them once for all kinds. */
interface CommonPanelBuilder {
  title(title: string): unknown;
  description(description: string): unknown;
  datasource(ref: common.DataSourceRef): unknown;
  targets(targets: cog.Builder<cog.Dataquery>[]): unknown;
  unit(unit: string): unknown;
  min(min: number): unknown;
  max(max: number): unknown;
  decimals(decimals: number): unknown;
  thresholds(thresholds: cog.Builder<dashboard.ThresholdsConfig>): unknown;
  mappings(mappings: dashboard.ValueMapping[]): unknown;
  noValue(noValue: string): unknown;
  dataLinks(links: cog.Builder<dashboard.DashboardLink>[]): unknown;
}

export const GREEN = "green";
export const YELLOW = "yellow";
export const ORANGE = "orange";
export const RED = "red";
export const BLUE = "blue";

/** Green below `warn`, orange from `warn`, red from `crit`. */
export function rising(warn: number, crit: number): Step[] {
  return [
    [GREEN, null],
    [ORANGE, warn],
    [RED, crit],
  ];
}

/** Red below `crit`, orange below `warn`, green above: for values where low is bad. */
export function falling(crit: number, warn: number): Step[] {
  return [
    [RED, null],
    [ORANGE, crit],
    [GREEN, warn],
  ];
}

/** Base colour only: for counts that carry no judgement. */
export const NEUTRAL: readonly Step[] = [[BLUE, null]];

/** Shows values as words with a colour, e.g. { "0": ["DOWN", RED] }. */
export function valueMappings(entries: Readonly<Record<string, readonly [text: string, color: string]>>): dashboard.ValueMapping[] {
  const options = Object.fromEntries(
    Object.entries(entries).map(([value, [text, color]], index) => [value, { text, color, index }]),
  );
  return [{ type: dashboard.MappingType.ValueToText, options }];
}

/** 1 = up (green), 0 = down (red). */
export const UP_DOWN_MAPPINGS = valueMappings({ "0": ["DOWN", RED], "1": ["UP", GREEN] });

/** 1 = the last config reload worked. */
export const RELOAD_MAPPINGS = valueMappings({ "0": ["FAILED", RED], "1": ["OK", GREEN] });

/** Red for 0, green for 1: the thresholds that go with the mappings above. */
export const ZERO_BAD: readonly Step[] = [
  [RED, null],
  [GREEN, 1],
];

/** Green for 0, orange from 1: counts of things that should not exist. */
export const ANY_BAD: readonly Step[] = [
  [GREEN, null],
  [ORANGE, 1],
];

function thresholdsBuilder(steps: readonly Step[]): dashboard.ThresholdsConfigBuilder {
  return new dashboard.ThresholdsConfigBuilder()
    .mode(dashboard.ThresholdsMode.Absolute)
    .steps(steps.map(([color, value]) => ({ color, value })));
}

/** Grafana's query ids: A, B, C, ... */
export function refId(index: number): string {
  return String.fromCharCode(65 + index);
}

function targetBuilders(queries: readonly QueryDef[]): prometheus.DataqueryBuilder[] {
  return queries.map((q, i) => {
    const t = new prometheus.DataqueryBuilder()
      .datasource(prometheusRef)
      .refId(refId(i))
      .expr(q.expr)
      .editorMode(prometheus.QueryEditorMode.Code)
      .legendFormat(q.legend ?? "__auto");
    if (q.instant || q.table) t.instant();
    else t.range();
    if (q.table) t.format(prometheus.PromQueryFormat.Table);
    return t;
  });
}

function linkBuilders(links: readonly DataLink[]): dashboard.DashboardLinkBuilder[] {
  return links.map((l) =>
    new dashboard.DashboardLinkBuilder(l.title).type(dashboard.DashboardLinkType.Link).url(l.url).keepTime(true).includeVars(false),
  );
}

function configure<B extends CommonPanelBuilder & PlaceablePanel>(b: B, o: PanelOptions, width: number, height: number): PanelDef {
  b.title(o.title);
  b.description(o.description);
  b.datasource(prometheusRef);
  b.targets(targetBuilders(o.queries));
  if (o.unit) b.unit(o.unit);
  if (o.min !== undefined) b.min(o.min);
  if (o.max !== undefined) b.max(o.max);
  if (o.decimals !== undefined) b.decimals(o.decimals);
  b.thresholds(thresholdsBuilder(o.thresholds ?? NEUTRAL));
  if (o.mappings) b.mappings([...o.mappings]);
  if (o.noValue !== undefined) b.noValue(o.noValue);
  if (o.links?.length) b.dataLinks(linkBuilders(o.links));
  return {
    title: o.title,
    description: o.description,
    width: o.width ?? width,
    height: o.height ?? height,
    queries: o.queries,
    expectData: o.expectData ?? true,
    builder: b,
  };
}

const lastValue = () => new common.ReduceDataOptionsBuilder().calcs(["lastNotNull"]).values(false);

/** A single number (or one per series) with its colour from the thresholds. */
export function statPanel(o: PanelOptions & { readonly sparkline?: boolean }): PanelDef {
  const b = new stat.PanelBuilder()
    .reduceOptions(lastValue())
    .graphMode(o.sparkline ? common.BigValueGraphMode.Area : common.BigValueGraphMode.None)
    .colorMode(common.BigValueColorMode.Value)
    .textMode(common.BigValueTextMode.Auto);
  return configure(b, o, 4, 4);
}

/** A value against a known range (utilisation, fill level). */
export function gaugePanel(o: PanelOptions): PanelDef {
  const b = new gauge.PanelBuilder().reduceOptions(lastValue()).showThresholdMarkers(true).showThresholdLabels(false);
  return configure(b, o, 4, 4);
}

export interface TimeseriesOptions extends PanelOptions {
  readonly stack?: boolean;
  readonly bars?: boolean;
  /** Draw the thresholds as dashed lines on the graph. */
  readonly thresholdLines?: boolean;
  /** Legend as a table on the right with mean/max/last. */
  readonly legendTable?: boolean;
  /** Queries (by index) drawn against a right-hand axis in their own unit. */
  readonly rightAxis?: { readonly queries: readonly number[]; readonly unit: string };
}

/** Values over time. */
export function timeseriesPanel(o: TimeseriesOptions): PanelDef {
  const legend = new common.VizLegendOptionsBuilder().showLegend(true);
  if (o.legendTable) {
    legend.displayMode(common.LegendDisplayMode.Table).placement(common.LegendPlacement.Right).calcs(["mean", "max", "lastNotNull"]);
  } else {
    legend.displayMode(common.LegendDisplayMode.List).placement(common.LegendPlacement.Bottom);
  }
  const b = new timeseries.PanelBuilder()
    .legend(legend)
    .tooltip(new common.VizTooltipOptionsBuilder().mode(common.TooltipDisplayMode.Multi).sort(common.SortOrder.Descending))
    .drawStyle(o.bars ? common.GraphDrawStyle.Bars : common.GraphDrawStyle.Line)
    .lineWidth(1)
    .fillOpacity(o.bars || o.stack ? 60 : 10)
    .showPoints(common.VisibilityMode.Never)
    .spanNulls(false);
  if (o.stack) b.stacking(new common.StackingConfigBuilder().mode(common.StackingMode.Normal));
  for (const i of o.rightAxis?.queries ?? []) {
    b.overrideByQuery(refId(i), [
      { id: "custom.axisPlacement", value: common.AxisPlacement.Right },
      { id: "unit", value: o.rightAxis?.unit },
    ]);
  }
  if (o.thresholdLines) {
    b.thresholdsStyle(new common.GraphThresholdsStyleConfigBuilder().mode(common.GraphThresholdsStyleMode.Dashed));
  }
  return configure(b, o, 12, 8);
}

export interface TableOptions extends PanelOptions {
  /** Columns to drop (series labels such as job, instance, __name__). */
  readonly hideColumns?: readonly string[];
  /** Column renames, e.g. { "Value #B": "Utilisation" }. */
  readonly renameColumns?: Readonly<Record<string, string>>;
  /** Join several table queries on their shared label columns. */
  readonly merge?: boolean;
  /**
   * The (renamed) column that holds the measurement: unit, decimals and threshold colours apply
   * to it alone, not to the label columns beside it.
   */
  readonly valueColumn?: string;
}

/** Rows of labelled values (allocations, targets). */
export function tablePanel(o: TableOptions): PanelDef {
  const transformations: dashboard.DataTransformerConfig[] = [];
  if (o.merge) transformations.push({ id: "merge", options: {} });
  const exclude = Object.fromEntries(["Time", "__name__", ...(o.hideColumns ?? [])].map((c) => [c, true]));
  transformations.push({ id: "organize", options: { excludeByName: exclude, renameByName: o.renameColumns ?? {} } });
  const b = new table.PanelBuilder()
    .showHeader(true)
    .filterable(true)
    .cellHeight(common.TableCellHeight.Sm)
    .transformations(transformations);
  if (!o.valueColumn) return configure(b, o, 12, 8);
  const column: dashboard.DynamicConfigValue[] = [{ id: "custom.cellOptions", value: { type: "color-text" } }];
  if (o.unit) column.push({ id: "unit", value: o.unit });
  if (o.decimals !== undefined) column.push({ id: "decimals", value: o.decimals });
  b.overrideByName(o.valueColumn, column);
  return configure(b, { ...o, unit: undefined, decimals: undefined }, 12, 8);
}

/** Shares of a whole. */
export function piePanel(o: PanelOptions): PanelDef {
  const b = new piechart.PanelBuilder()
    .pieType(piechart.PieChartType.Donut)
    .displayLabels([piechart.PieChartLabels.Name, piechart.PieChartLabels.Value])
    .reduceOptions(lastValue())
    .legend(
      new piechart.PieChartLegendOptionsBuilder()
        .showLegend(true)
        .displayMode(common.LegendDisplayMode.Table)
        .placement(common.LegendPlacement.Right)
        .values([piechart.PieChartLegendValues.Value, piechart.PieChartLegendValues.Percent]),
    );
  return configure(b, o, 8, 8);
}

/**
 * One row per series (e.g. per worker), colour by value over time. `calculate(false)` makes
 * Grafana use the series as rows rather than bucketing the values.
 */
export function heatmapPanel(o: PanelOptions): PanelDef {
  const b = new heatmap.PanelBuilder()
    .calculate(false)
    .color(
      new heatmap.HeatmapColorOptionsBuilder()
        .mode(heatmap.HeatmapColorMode.Scheme)
        .scheme("RdYlGn")
        .reverse(true)
        .scale(heatmap.HeatmapColorScale.Linear)
        .steps(64)
        .min(o.min ?? 0)
        .max(o.max ?? 100),
    )
    .cellGap(1)
    .showLegend()
    .yAxis(new heatmap.YAxisConfigBuilder().axisPlacement(common.AxisPlacement.Left))
    .tooltip(new heatmap.HeatmapTooltipBuilder().mode(common.TooltipDisplayMode.Single).yHistogram(false))
    .rowsFrame(new heatmap.RowsHeatmapOptionsBuilder().layout(common.HeatmapCellLayout.Auto));
  return configure(b, o, 24, 8);
}

/** Discrete states over time (up/down, on/off). */
export function stateTimelinePanel(o: PanelOptions): PanelDef {
  const b = new statetimeline.PanelBuilder()
    .showValue(common.VisibilityMode.Never)
    .mergeValues(true)
    .rowHeight(0.8)
    .alignValue(common.TimelineValueAlignment.Left)
    .legend(new common.VizLegendOptionsBuilder().showLegend(true).displayMode(common.LegendDisplayMode.List).placement(common.LegendPlacement.Bottom));
  return configure(b, o, 12, 8);
}

/** Current values side by side, as bars against a range. */
export function barGaugePanel(o: PanelOptions): PanelDef {
  const b = new bargauge.PanelBuilder()
    .displayMode(common.BarGaugeDisplayMode.Gradient)
    .orientation(common.VizOrientation.Horizontal)
    .showUnfilled(true)
    .reduceOptions(lastValue());
  return configure(b, o, 8, 8);
}
