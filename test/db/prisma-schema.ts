/**
 * Reads prisma/schema.prisma into the database shape `prisma migrate` would create for it on
 * PostgreSQL (Prisma's naming conventions), so a test can compare it with the migrated database.
 * Prisma's own DMMF is not available offline (no schema engine, no Pothos datamodel), hence this
 * small reader; it throws on any line it does not understand rather than guess.
 */

export interface ExpectedColumn {
  table: string;
  column: string;
  /** As pg_catalog.format_type prints it. */
  type: string;
  notNull: boolean;
  hasDefault: boolean;
}

export interface ExpectedIndex {
  table: string;
  name: string;
  columns: string[];
  unique: boolean;
  primary: boolean;
}

export interface ExpectedForeignKey {
  table: string;
  name: string;
  columns: string[];
  referencedTable: string;
  referencedColumns: string[];
  onDelete: string;
  onUpdate: string;
}

export interface ExpectedDatabase {
  enums: { name: string; values: string[] }[];
  columns: ExpectedColumn[];
  indexes: ExpectedIndex[];
  foreignKeys: ExpectedForeignKey[];
}

interface Field {
  name: string;
  column: string;
  type: string;
  list: boolean;
  optional: boolean;
  attributes: string;
}

interface Model {
  name: string;
  table: string;
  fields: Field[];
  blockAttributes: string[];
}

const SCALAR_TYPES: Record<string, string> = {
  String: 'text',
  Int: 'integer',
  BigInt: 'bigint',
  Float: 'double precision',
  Decimal: 'numeric(65,30)',
  Boolean: 'boolean',
  DateTime: 'timestamp(3) without time zone',
  Json: 'jsonb',
  Bytes: 'bytea',
};

// Defaults Prisma Client fills in itself: the column gets no DEFAULT.
const CLIENT_SIDE_DEFAULT = /@default\(\s*(uuid|cuid|nanoid|ulid)\(/;

const REFERENTIAL_ACTIONS: Record<string, string> = {
  Cascade: 'CASCADE',
  Restrict: 'RESTRICT',
  NoAction: 'NO ACTION',
  SetNull: 'SET NULL',
  SetDefault: 'SET DEFAULT',
};

export function expectedDatabase(schema: string): ExpectedDatabase {
  const text = stripComments(schema);
  const enums = readEnums(text);
  const models = readModels(text);
  return {
    enums: enums.map(({ name, values }) => ({ name, values })),
    columns: models.flatMap((model) => expectedColumns(model, enums)),
    indexes: models.flatMap(expectedIndexes),
    foreignKeys: models.flatMap((model) => expectedForeignKeys(model, models)),
  };
}

function stripComments(schema: string): string {
  return schema.replace(/(^|\s)\/\/.*$/gm, '$1');
}

function blocks(text: string, keyword: 'model' | 'enum'): { name: string; lines: string[] }[] {
  const pattern = new RegExp(`^\\s*${keyword}\\s+(\\w+)\\s*\\{([\\s\\S]*?)^\\s*\\}`, 'gm');
  return [...text.matchAll(pattern)].map((match) => ({
    name: match[1] as string,
    lines: (match[2] as string)
      .split('\n')
      .map((line) => line.trim())
      .filter(Boolean),
  }));
}

function readEnums(text: string): { prismaName: string; name: string; values: string[] }[] {
  return blocks(text, 'enum').map(({ name, lines }) => {
    const mappedName = lines.map((line) => /^@@map\("([^"]+)"\)$/.exec(line)?.[1]).find(Boolean);
    const values = lines
      .filter((line) => !line.startsWith('@@'))
      .map((line) => {
        const match = /^(\w+)(?:\s+@map\("([^"]+)"\))?$/.exec(line);
        if (!match) throw new Error(`Unrecognised line in enum ${name}: ${line}`);
        return match[2] ?? (match[1] as string);
      });
    return { prismaName: name, name: mappedName ?? name, values };
  });
}

function readModels(text: string): Model[] {
  return blocks(text, 'model').map(({ name, lines }) => {
    const blockAttributes = lines.filter((line) => line.startsWith('@@'));
    const fields = lines.filter((line) => !line.startsWith('@@')).map((line) => readField(name, line));
    const table = blockAttributes.map((a) => /^@@map\("([^"]+)"\)/.exec(a)?.[1]).find(Boolean) ?? name;
    return { name, table, fields, blockAttributes };
  });
}

function readField(model: string, line: string): Field {
  const match = /^(\w+)\s+(\w+)(\[\])?(\?)?\s*(.*)$/.exec(line);
  if (!match) throw new Error(`Unrecognised line in model ${model}: ${line}`);
  const [, name, type, list, optional, attributes] = match as unknown as [
    string,
    string,
    string,
    string,
    string,
    string,
  ];
  const column = /@map\("([^"]+)"\)/.exec(attributes)?.[1] ?? name;
  return { name, column, type, list: Boolean(list), optional: Boolean(optional), attributes };
}

function isRelation(field: Field, enumNames: Set<string>): boolean {
  return !(field.type in SCALAR_TYPES) && !enumNames.has(field.type);
}

function expectedColumns(model: Model, enums: { prismaName: string; name: string }[]): ExpectedColumn[] {
  const enumNames = new Set(enums.map((e) => e.prismaName));
  return model.fields
    .filter((field) => !isRelation(field, enumNames))
    .map((field) => {
      if (/@db\./.test(field.attributes)) throw new Error(`Native types are not handled here: ${field.name}`);
      const enumName = enums.find((e) => e.prismaName === field.type)?.name;
      const base = enumName ? `"${enumName}"` : (SCALAR_TYPES[field.type] as string);
      return {
        table: model.table,
        column: field.column,
        type: field.list ? `${base}[]` : base,
        notNull: !field.optional && !field.list,
        hasDefault: field.attributes.includes('@default(') && !CLIENT_SIDE_DEFAULT.test(field.attributes),
      };
    });
}

function expectedIndexes(model: Model): ExpectedIndex[] {
  const columnOf = (fieldName: string) => columnIn(model, fieldName);
  const index = (kind: 'primary' | 'unique' | 'normal', columns: string[], map: string | undefined) => ({
    table: model.table,
    name:
      map ??
      (kind === 'primary'
        ? `${model.table}_pkey`
        : `${model.table}_${columns.join('_')}_${kind === 'unique' ? 'key' : 'idx'}`),
    columns,
    unique: kind !== 'normal',
    primary: kind === 'primary',
  });
  const indexes: ExpectedIndex[] = [];
  for (const field of model.fields) {
    if (/@id\b/.test(field.attributes))
      indexes.push(index('primary', [field.column], mapArg(field.attributes, '@id')));
    if (/@unique\b/.test(field.attributes)) {
      indexes.push(index('unique', [field.column], mapArg(field.attributes, '@unique')));
    }
  }
  const kinds = { id: 'primary', unique: 'unique', index: 'normal' } as const;
  for (const attribute of model.blockAttributes) {
    const match = /^@@(id|unique|index)\(\s*\[([^\]]*)\](.*)\)$/.exec(attribute);
    if (!match) continue;
    const [, kind, list, rest] = match as unknown as [string, keyof typeof kinds, string, string];
    // Field references may carry arguments, e.g. createdAt(sort: Desc).
    const columns = list.split(',').map((ref) => columnOf(ref.trim().replace(/\(.*\)$/, '')));
    indexes.push(index(kinds[kind], columns, /map:\s*"([^"]+)"/.exec(rest)?.[1]));
  }
  return indexes;
}

function mapArg(attributes: string, attribute: string): string | undefined {
  const match = new RegExp(`${attribute}\\(([^)]*)\\)`).exec(attributes);
  return match ? /map:\s*"([^"]+)"/.exec(match[1] as string)?.[1] : undefined;
}

function expectedForeignKeys(model: Model, models: Model[]): ExpectedForeignKey[] {
  return model.fields.flatMap((field) => {
    const relation = /@relation\(([^)]*)\)/.exec(field.attributes)?.[1];
    const fields = relation && /fields:\s*\[([^\]]*)\]/.exec(relation)?.[1];
    if (!relation || !fields) return [];
    const target = models.find((m) => m.name === field.type);
    if (!target) throw new Error(`Unknown relation target ${field.type} on ${model.name}.${field.name}`);
    const references = (/references:\s*\[([^\]]*)\]/.exec(relation)?.[1] ?? '').split(',');
    const columns = fields.split(',').map((ref) => columnIn(model, ref.trim()));
    return [
      {
        table: model.table,
        name: /map:\s*"([^"]+)"/.exec(relation)?.[1] ?? `${model.table}_${columns.join('_')}_fkey`,
        columns,
        referencedTable: target.table,
        referencedColumns: references.map((ref) => columnIn(target, ref.trim())),
        onDelete: referentialAction(relation, 'onDelete') ?? (field.optional ? 'SET NULL' : 'RESTRICT'),
        onUpdate: referentialAction(relation, 'onUpdate') ?? 'CASCADE',
      },
    ];
  });
}

function columnIn(model: Model, fieldName: string): string {
  return model.fields.find((f) => f.name === fieldName)?.column ?? fieldName;
}

function referentialAction(relation: string, key: 'onDelete' | 'onUpdate'): string | undefined {
  const action = new RegExp(`${key}:\\s*(\\w+)`).exec(relation)?.[1];
  return action ? REFERENTIAL_ACTIONS[action] : undefined;
}
