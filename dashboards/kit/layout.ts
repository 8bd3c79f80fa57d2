import * as dashboard from "@grafana/grafana-foundation-sdk/dashboard";
import type { PanelDef } from "./panels";

export function isSdkRow(p: dashboard.Panel | dashboard.RowPanel): p is dashboard.RowPanel {
  return p.type === "row";
}

/** Grafana's grid is 24 columns wide. */
export const GRID_WIDTH = 24;

/** A row of the dashboard: a titled group of panels that can be collapsed. */
export interface Section {
  readonly title: string;
  /** Collapsed rows keep their panels inside the row until opened (detail that is not needed at a glance). */
  readonly collapsed: boolean;
  readonly panels: readonly PanelDef[];
}

/** A panel with the id and position the layout gave it. */
export interface PlacedPanel {
  readonly id: number;
  readonly section: string;
  readonly def: PanelDef;
  readonly gridPos: dashboard.GridPos;
}

/**
 * Places sections top to bottom and their panels left to right, wrapping at the grid width.
 * Ids are assigned in reading order (rows included) so they are stable while the code is.
 * Panels of a collapsed row are positioned as they will be when the row is opened, which is
 * how Grafana itself saves them; the next row then follows the collapsed row directly.
 */
export function layOut(builder: dashboard.DashboardBuilder, sections: readonly Section[]): PlacedPanel[] {
  const placed: PlacedPanel[] = [];
  let nextId = 1;
  let y = 0;
  for (const section of sections) {
    const rowY = y;
    const row = new dashboard.RowBuilder(section.title)
      .id(nextId++)
      .collapsed(section.collapsed)
      .gridPos({ x: 0, y: rowY, w: GRID_WIDTH, h: 1 });
    let x = 0;
    let lineY = rowY + 1;
    let lineHeight = 0;
    const panelsOfRow: PlacedPanel[] = [];
    for (const def of section.panels) {
      if (def.width > GRID_WIDTH) throw new Error(`panel "${def.title}" is wider than the grid`);
      if (x + def.width > GRID_WIDTH) {
        x = 0;
        lineY += lineHeight;
        lineHeight = 0;
      }
      const gridPos = { x, y: lineY, w: def.width, h: def.height };
      const id = nextId++;
      def.builder.id(id);
      def.builder.gridPos(gridPos);
      panelsOfRow.push({ id, section: section.title, def, gridPos });
      x += def.width;
      lineHeight = Math.max(lineHeight, def.height);
    }
    const bottom = lineY + lineHeight;
    if (section.collapsed) {
      for (const p of panelsOfRow) row.withPanel(p.def.builder);
      builder.withRow(row);
      y = rowY + 1;
    } else {
      builder.withRow(row);
      for (const p of panelsOfRow) builder.withPanel(p.def.builder);
      y = bottom;
    }
    placed.push(...panelsOfRow);
  }
  return placed;
}
