/** Prints benchmark rows as an aligned table, with ratios against the peers measured in the same run. */

export interface Row {
  name: string;
  value: number;
  unit: string;
  note?: string;
  /**
   * CPU microseconds (user+system, the whole process tree) the proxy spent per request or per MB.
   * On a loaded machine wall-clock req/s swings with the neighbours; CPU per request does not.
   */
  cpuPerUnit?: number;
}

export function fmt(n: number): string {
  if (!Number.isFinite(n)) return 'n/a';
  if (Math.abs(n) >= 100) return n.toFixed(0);
  if (Math.abs(n) >= 10) return n.toFixed(1);
  return n.toFixed(2);
}

export function printTable(title: string, rows: Row[], baseline?: string): void {
  console.log(`\n## ${title}`);
  const sailfin = rows.find((r) => r.name.startsWith('sailfin'));
  const width = Math.max(...rows.map((r) => r.name.length), 10);
  for (const r of rows) {
    let ratio = '';
    if (sailfin && r !== sailfin && Number.isFinite(r.value) && r.value > 0 && Number.isFinite(sailfin.value)) {
      ratio = `  sailfin/${r.name} = ${(sailfin.value / r.value).toFixed(2)}x`;
      // Throughput per CPU-second: the ratio that holds when the machine is shared.
      if (sailfin.cpuPerUnit && r.cpuPerUnit) ratio += ` (per CPU-second ${(r.cpuPerUnit / sailfin.cpuPerUnit).toFixed(2)}x)`;
    }
    const cpu = r.cpuPerUnit ? `  ${fmt(r.cpuPerUnit).padStart(6)} µs CPU/${r.unit === 'MB/s' ? 'MB' : 'req'}` : '';
    console.log(`${r.name.padEnd(width)}  ${fmt(r.value).padStart(10)} ${r.unit}${cpu}${ratio}${r.note ? `  (${r.note})` : ''}`);
  }
  if (baseline) console.log(baseline);
}

export function verdict(label: string, ok: boolean, detail: string): string {
  return `${ok ? 'PASS' : 'MISS'}  ${label}: ${detail}`;
}
