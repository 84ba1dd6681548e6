/**
 * A small in-process metrics registry rendered in the Prometheus text exposition format
 * (version 0.0.4). Counters only go up; gauges are set or moved by the code that owns them.
 */
type Labels = Record<string, string>;

interface Series {
  labels: Labels;
  value: number;
}

interface Family {
  name: string;
  help: string;
  type: 'counter' | 'gauge';
  series: Map<string, Series>;
}

export class Metrics {
  private readonly families = new Map<string, Family>();
  private readonly collectors: Array<() => void> = [];

  counter(name: string, help: string): (labels?: Labels, by?: number) => void {
    const family = this.family(name, help, 'counter');
    return (labels = {}, by = 1) => {
      this.series(family, labels).value += by;
    };
  }

  gauge(name: string, help: string): { set(value: number, labels?: Labels): void; add(by: number, labels?: Labels): void } {
    const family = this.family(name, help, 'gauge');
    return {
      set: (value, labels = {}) => {
        this.series(family, labels).value = value;
      },
      add: (by, labels = {}) => {
        this.series(family, labels).value += by;
      },
    };
  }

  /** Runs just before each render, for gauges read from elsewhere (memory, queue depth). */
  onCollect(collect: () => void): void {
    this.collectors.push(collect);
  }

  render(): string {
    for (const collect of this.collectors) collect();
    const lines: string[] = [];
    for (const family of this.families.values()) {
      lines.push(`# HELP ${family.name} ${family.help}`, `# TYPE ${family.name} ${family.type}`);
      if (family.series.size === 0 && family.type === 'counter') lines.push(`${family.name} 0`);
      for (const series of family.series.values()) {
        lines.push(`${family.name}${formatLabels(series.labels)} ${series.value}`);
      }
    }
    return `${lines.join('\n')}\n`;
  }

  private family(name: string, help: string, type: Family['type']): Family {
    let family = this.families.get(name);
    if (!family) {
      family = { name, help, type, series: new Map() };
      this.families.set(name, family);
    }
    return family;
  }

  private series(family: Family, labels: Labels): Series {
    const key = JSON.stringify(Object.entries(labels).sort());
    let series = family.series.get(key);
    if (!series) {
      series = { labels, value: 0 };
      family.series.set(key, series);
    }
    return series;
  }
}

function formatLabels(labels: Labels): string {
  const entries = Object.entries(labels);
  if (entries.length === 0) return '';
  const body = entries
    .map(([key, value]) => `${key}="${value.replaceAll('\\', '\\\\').replaceAll('\n', '\\n').replaceAll('"', '\\"')}"`)
    .join(',');
  return `{${body}}`;
}
