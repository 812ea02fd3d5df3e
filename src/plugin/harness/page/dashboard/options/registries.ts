// SUBSTITUTE for Grafana core's option registries (public/app/core/components/
// OptionsUI/registry.tsx): @grafana/data's PanelPlugin machinery — option
// builders, getPanelOptionsWithDefaults, applyFieldOverrides — looks option
// editors and the standard field options (unit, min, max, decimals, display
// name, color, no value, links, mappings, thresholds) up in two registries that
// Grafana's app fills at start. The renderer fills them the same way: the same
// ids, paths, override processors, "should apply" rules and defaults, so a
// panel's fieldConfig defaults and overrides resolve as in Grafana. The editors
// themselves are never shown (nothing is edited here): one placeholder stands
// for all of them. The transformations registry gets @grafana/data's standard
// transformers, as Grafana's app registers them. ADR 0080.
import {
  FieldType,
  ThresholdsMode,
  dataLinksOverrideProcessor,
  displayNameOverrideProcessor,
  identityOverrideProcessor,
  numberOverrideProcessor,
  standardEditorsRegistry,
  standardFieldConfigEditorRegistry,
  standardTransformers,
  standardTransformersRegistry,
  stringOverrideProcessor,
  thresholdsOverrideProcessor,
  valueMappingsOverrideProcessor,
  type FieldConfigPropertyItem,
  type DataTransformerInfo,
  type StandardEditorsRegistryItem,
  type TransformerRegistryItem,
} from "@grafana/data";

/** Option editors are UI for editing a panel; the renderer only draws. */
const NeverShown = () => null;

const EDITOR_IDS = [
  "text",
  "number",
  "slider",
  "boolean",
  "radio",
  "select",
  "unit",
  "links",
  "stats-picker",
  "strings",
  "timezone",
  "fieldColor",
  "color",
  "multi-select",
  "field-name",
  "dashboard-uid",
  "mappings",
  "thresholds",
];

const editors = (): StandardEditorsRegistryItem[] =>
  EDITOR_IDS.map((id) => ({ id, name: id, editor: NeverShown }));

const standard = (
  id: string,
  process: FieldConfigPropertyItem["process"],
  shouldApply: FieldConfigPropertyItem["shouldApply"],
  defaultValue?: unknown,
): FieldConfigPropertyItem => ({
  id,
  path: id,
  name: id,
  editor: NeverShown,
  override: NeverShown,
  process,
  shouldApply,
  settings: {},
  category: ["Standard options"],
  ...(defaultValue === undefined ? {} : { defaultValue }),
});

const always = () => true;
const numeric: FieldConfigPropertyItem["shouldApply"] = (f) => f.type === FieldType.number;

/** Grafana's standard field options, with Grafana's defaults (thresholds: green, red at 80). */
const standardFieldConfigs = (): FieldConfigPropertyItem[] => [
  standard("unit", stringOverrideProcessor, always),
  standard("min", numberOverrideProcessor, numeric),
  standard("max", numberOverrideProcessor, numeric),
  standard("decimals", numberOverrideProcessor, numeric),
  standard("displayName", displayNameOverrideProcessor, always),
  standard("color", identityOverrideProcessor, always),
  standard("noValue", stringOverrideProcessor, always),
  standard("links", dataLinksOverrideProcessor, always),
  standard("mappings", valueMappingsOverrideProcessor, (f) => f.type !== FieldType.time, []),
  standard("thresholds", thresholdsOverrideProcessor, always, {
    mode: ThresholdsMode.Absolute,
    steps: [
      { value: -Infinity, color: "green" },
      { value: 80, color: "red" },
    ],
  }),
];

// Some transformers are exported under two names (an old and a new one): register each id once.
const transformers = (): TransformerRegistryItem[] =>
  [
    ...new Map(
      Object.values(standardTransformers as Record<string, DataTransformerInfo>).map((t) => [
        t.id,
        t,
      ]),
    ).values(),
  ].map((info) => ({
    id: info.id,
    name: info.name,
    description: info.description,
    transformation: () => Promise.resolve(info),
    editor: NeverShown,
    imageDark: "",
    imageLight: "",
  }));

let installed = false;

/** Fills both registries once, before any panel plugin is built. */
export function installOptionRegistries() {
  if (installed) {
    return;
  }
  installed = true;
  standardEditorsRegistry.setInit(editors);
  standardFieldConfigEditorRegistry.setInit(standardFieldConfigs);
  standardTransformersRegistry.setInit(transformers);
}
