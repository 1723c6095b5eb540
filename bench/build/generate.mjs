// Writes a webstir workspace with 1,000 TypeScript files into the folder given as argument:
// 100 folders of 10 modules that import each other without extensions and use interfaces,
// generics, `as`, `satisfies`, `import type` and classes, like real backend code.
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const root = process.argv[2];
if (!root) {
  console.error('usage: node generate.mjs <dir>');
  process.exit(2);
}
rmSync(root, { recursive: true, force: true });
mkdirSync(root, { recursive: true });
writeFileSync(
  join(root, 'package.json'),
  JSON.stringify({ name: 'bench', type: 'module', webstir: { moduleManifest: { jobs: [] } } }, null, 2) + '\n',
);

const FOLDERS = 100;
for (let f = 0; f < FOLDERS; f++) {
  const dir = join(root, 'src', 'backend', 'modules', `m${String(f).padStart(3, '0')}`);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'types.ts'), `export interface Entity<T extends object = Record<string, unknown>> {
  id: number;
  createdAt: Date;
  data: T;
}

export type Status = 'active' | 'stale' | 'deleted';

export interface Repository<T extends Entity> {
  find(id: number): Promise<T | undefined>;
  list(filter?: Partial<T>): Promise<readonly T[]>;
  save(entity: T): Promise<void>;
}

export const LIMIT = ${100 + f} as const;
`);
  writeFileSync(join(dir, 'util.ts'), `import type { Entity, Status } from './types';
import { LIMIT } from './types';

export function statusOf<T extends object>(entity: Entity<T>, now: Date = new Date()): Status {
  const age = now.getTime() - entity.createdAt.getTime();
  return age > LIMIT * 1000 ? 'stale' : 'active';
}

export function chunk<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) {
    out.push(items.slice(i, i + size) as T[]);
  }
  return out;
}
`);
  for (let i = 0; i < 8; i++) {
    const next = i < 7 ? `import { Service${i + 1} } from './service${i + 1}';\n` : '';
    writeFileSync(join(dir, `service${i}.ts`), `import type { Entity, Repository, Status } from './types';
import { chunk, statusOf } from './util';
${next}
interface Payload${i} {
  name: string;
  tags: string[];
  weight?: number;
}

type Row${i} = Entity<Payload${i}>;

export class Service${i} {
  private readonly cache = new Map<number, Row${i}>();

  constructor(private readonly repo: Repository<Row${i}>, private readonly batch: number = ${i + 1}) {}

  async sweep(now: Date): Promise<{ stale: number; batches: number }> {
    const rows = await this.repo.list();
    const stale = rows.filter((row) => statusOf(row, now) === ('stale' satisfies Status));
    for (const row of stale) {
      this.cache.set(row.id, row);
    }
    return { stale: stale.length, batches: chunk(stale, this.batch).length };
  }

  weigh(row: Row${i}): number {
    const weight = row.data.weight ?? (row.data.tags.length as number);
    return weight * ${i + 1};
  }
${i < 7 ? `
  next(): Service${i + 1} {
    return new Service${i + 1}(this.repo as unknown as Repository<never>);
  }
` : ''}}
`);
  }
}
