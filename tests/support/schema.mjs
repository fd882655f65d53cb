// A small validator for the JSON-schema subset openapi.json uses: type, required, properties,
// additionalProperties, items, minItems/maxItems, enum, oneOf and local $ref. Returns the list of violations.
export function validate(value, schema, root, path = '$') {
  if (schema.$ref) return validate(value, schema.$ref.split('/').slice(1).reduce((o, k) => o[k], root), root, path);
  if (schema.oneOf) {
    const passing = schema.oneOf.filter((s) => validate(value, s, root, path).length === 0).length;
    return passing === 1 ? [] : [`${path}: matches ${passing} of the oneOf schemas, not exactly 1`];
  }
  const errors = [];
  const type = Array.isArray(value) ? 'array' : value === null ? 'null' : typeof value;
  const want = schema.type;
  const typeOk = !want || want === type || (want === 'integer' && Number.isInteger(value)) || (want === 'number' && type === 'number');
  if (!typeOk) return [`${path}: expected ${want}, got ${type}`];
  if (schema.enum && !schema.enum.includes(value)) errors.push(`${path}: ${JSON.stringify(value)} is not one of ${schema.enum}`);
  if (type === 'string' && schema.maxLength !== undefined && value.length > schema.maxLength) errors.push(`${path}: longer than ${schema.maxLength}`);
  if (type === 'array') {
    if (schema.minItems !== undefined && value.length < schema.minItems) errors.push(`${path}: fewer than ${schema.minItems} items`);
    if (schema.maxItems !== undefined && value.length > schema.maxItems) errors.push(`${path}: more than ${schema.maxItems} items`);
    if (schema.items) value.forEach((v, i) => errors.push(...validate(v, schema.items, root, `${path}[${i}]`)));
  }
  if (type === 'object') {
    for (const k of schema.required || []) if (!(k in value)) errors.push(`${path}: missing ${k}`);
    for (const [k, v] of Object.entries(value)) {
      if (schema.properties && k in schema.properties) errors.push(...validate(v, schema.properties[k], root, `${path}.${k}`));
      else if (schema.additionalProperties === false) errors.push(`${path}: unexpected property ${k}`);
      else if (typeof schema.additionalProperties === 'object') errors.push(...validate(v, schema.additionalProperties, root, `${path}.${k}`));
    }
  }
  return errors;
}
