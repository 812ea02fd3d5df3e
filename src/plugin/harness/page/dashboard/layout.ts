// Grafana's dashboard grid: 24 columns, rows of 30 px, 8 px between cells
// (GRID_COLUMN_COUNT, GRID_CELL_HEIGHT, GRID_CELL_VMARGIN in Grafana's
// dashboard code). A panel at gridPos {x, y, w, h} covers w columns and h rows
// including the gaps between them.
import type { GridPos } from "./model";

export const GRID_COLUMNS = 24;
export const ROW_HEIGHT = 30;
export const GAP = 8;

export interface Rect {
  left: number;
  top: number;
  width: number;
  height: number;
}

export function panelRect(pos: GridPos, gridWidth: number): Rect {
  if (pos.x < 0 || pos.w < 1 || pos.x + pos.w > GRID_COLUMNS || pos.y < 0 || pos.h < 1) {
    throw new Error(`gridPos ${JSON.stringify(pos)} is outside the ${GRID_COLUMNS}-column grid`);
  }
  const column = (gridWidth - GAP * (GRID_COLUMNS - 1)) / GRID_COLUMNS;
  return {
    left: Math.round(pos.x * (column + GAP)),
    top: pos.y * (ROW_HEIGHT + GAP),
    width: Math.round(pos.w * column + (pos.w - 1) * GAP),
    height: pos.h * ROW_HEIGHT + (pos.h - 1) * GAP,
  };
}

/** Height of the whole grid: the lowest panel's bottom edge. */
export function gridHeight(positions: GridPos[]): number {
  const rows = Math.max(0, ...positions.map((p) => p.y + p.h));
  return rows * (ROW_HEIGHT + GAP) - GAP;
}
