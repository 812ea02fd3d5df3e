// Schema helpers that keep TypeBox output inside Kubernetes' structural-schema
// rules: no anyOf/patternProperties (which TypeBox emits for unions and
// records), string enums as `enum`, maps as `additionalProperties`.
import {
  FormatRegistry,
  Kind,
  Type,
  TypeRegistry,
  type TSchema,
  type TUnsafe,
} from "@sinclair/typebox";

// Custom kinds, registered so TypeBox's Value.Check validates them the way the
// API server will; the [Kind] symbol never reaches the generated YAML.
TypeRegistry.Set<{ enum: string[] }>(
  "StringEnum",
  (schema, value) => typeof value === "string" && schema.enum.includes(value),
);
TypeRegistry.Set(
  "StringMap",
  (_schema, value) =>
    typeof value === "object" &&
    value !== null &&
    !Array.isArray(value) &&
    Object.values(value).every((v) => typeof v === "string"),
);
// RFC 3339, as metav1.Time accepts it.
const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;
FormatRegistry.Set("date-time", (v) => RFC3339.test(v) && !Number.isNaN(Date.parse(v)));
TypeRegistry.Set(
  "OpaqueObject",
  (_schema, value) => typeof value === "object" && value !== null && !Array.isArray(value),
);

/** A string restricted to `values`; typed as their union. */
export function StringEnum<const T extends readonly string[]>(
  values: T,
  options: { description?: string; default?: T[number] } = {},
): TUnsafe<T[number]> {
  return Type.Unsafe<T[number]>({
    [Kind]: "StringEnum",
    type: "string",
    enum: [...values],
    ...options,
  });
}

/** A string-to-string map (`map[string]string` in Go terms). */
export function StringMap(options: { description?: string; maxProperties?: number } = {}) {
  return Type.Unsafe<Record<string, string>>({
    [Kind]: "StringMap",
    type: "object",
    additionalProperties: { type: "string", maxLength: 1024 },
    ...options,
  });
}

/** An object whose fields the API server handles itself (e.g. metadata). */
export const OpaqueObject = () =>
  Type.Unsafe<Record<string, unknown>>({ [Kind]: "OpaqueObject", type: "object" });

/** An RFC 3339 timestamp, as Kubernetes serialises metav1.Time. */
export const Timestamp = (description: string) => Type.String({ format: "date-time", description });

/** A CEL validation rule attached to a schema node (x-kubernetes-validations). */
export interface CelRule {
  rule: string;
  message: string;
  fieldPath?: string;
}

/** Options for an object node carrying CEL rules. */
export function cel(...rules: CelRule[]): { "x-kubernetes-validations": CelRule[] } {
  return { "x-kubernetes-validations": rules };
}

/** Strip TypeBox's symbol metadata: what remains is the plain OpenAPI v3 schema. */
export function plainSchema(schema: TSchema): Record<string, unknown> {
  return JSON.parse(JSON.stringify(schema)) as Record<string, unknown>;
}
