/**
 * The console style.
 *
 * @module
 */

/** The console style served at `/console/style.css`. */
export const CONSOLE_CSS: string = String.raw`
:root { --fg: #1d2330; --muted: #6b7385; --line: #dde1e8; --accent: #2f6fde; --bg: #f7f8fa; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.4 system-ui, sans-serif; color: var(--fg); background: var(--bg); }
header { display: flex; align-items: baseline; gap: 1rem; padding: .8rem 1.5rem; background: #1d2330; color: #fff; }
header h1 { margin: 0; font-size: 1.3rem; }
main { padding: 1rem 1.5rem; display: grid; gap: 1rem; }
section, form { background: #fff; border: 1px solid var(--line); border-radius: 6px; padding: .8rem 1rem; }
section.row { display: grid; grid-template-columns: 1fr 1fr; gap: 1rem; border: 0; padding: 0; background: none; }
h2 { margin: 0 0 .6rem; font-size: 1.05rem; }
h3 { margin: .8rem 0 .4rem; font-size: .95rem; }
table { width: 100%; border-collapse: collapse; font-variant-numeric: tabular-nums; }
th, td { text-align: left; padding: .3rem .5rem; border-bottom: 1px solid var(--line); vertical-align: top; }
th { color: var(--muted); font-weight: 600; }
tbody tr.clickable { cursor: pointer; }
tbody tr.clickable:hover, tbody tr.selected { background: #eef3fd; }
td.bytes { font-family: ui-monospace, monospace; white-space: pre-wrap; word-break: break-all; max-width: 40ch; }
label { display: block; margin: .3rem 0; color: var(--muted); }
form.inline label { display: inline-block; margin-right: .6rem; }
input, select, textarea { font: inherit; padding: .25rem .4rem; border: 1px solid var(--line); border-radius: 4px; width: 100%; color: var(--fg); }
form.inline input, form.inline select { width: auto; max-width: 12rem; }
button { font: inherit; padding: .3rem .9rem; border: 0; border-radius: 4px; background: var(--accent); color: #fff; cursor: pointer; margin-top: .4rem; }
button.on { background: #c0392b; }
output { display: block; margin-top: .4rem; color: var(--muted); }
output.error { color: #c0392b; }
.muted { color: var(--muted); }
.warn { color: #c0392b; font-weight: 600; }
header .muted { color: #aab; }
.pill { margin-left: auto; font-size: .8rem; padding: .1rem .6rem; border-radius: 1rem; background: #555; }
.pill.ok { background: #2e8b57; }
.pill.bad { background: #c0392b; }
canvas { width: 100%; max-width: 900px; height: 220px; border: 1px solid var(--line); border-radius: 4px; }
#chart-legend span { display: inline-block; margin-right: 1rem; }
#chart-legend i { display: inline-block; width: .8rem; height: .8rem; margin-right: .3rem; border-radius: 2px; vertical-align: middle; }
`;
