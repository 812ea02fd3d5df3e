// Grafana's documented provisioning file formats as JSON schemas (TypeBox),
// for the fields our files use and their types: data sources
// (administration/provisioning), dashboard providers, and alerting file
// provisioning (pkg/services/provisioning/alerting: AlertRuleGroupV1,
// AlertRuleV1, QueryV1, ContactPointV1, ReceiverV1, the webhook receiver's
// settings, and the notification policy route). Objects are closed: a
// misspelt field is an error here, where Grafana would silently ignore it.
import { Type } from "@sinclair/typebox";

const closed = { additionalProperties: false } as const;
const Str = Type.String({ minLength: 1 });
/** Grafana uids: up to 40 letters, digits, '-' and '_'. */
export const Uid = Type.String({ pattern: "^[A-Za-z0-9_-]{1,40}$" });
/** Prometheus' model.ParseDuration, which Grafana uses for for/interval/group timings. */
export const Duration = Type.String({
  pattern: "^(0|(\\d+y)?(\\d+w)?(\\d+d)?(\\d+h)?(\\d+m)?(\\d+s)?(\\d+ms)?)$",
});
const StringMap = Type.Record(Type.String({ pattern: "^[A-Za-z_][A-Za-z0-9_]*$" }), Type.String());
const DsRef = Type.Object({ type: Str, uid: Uid }, closed);

export const DatasourcesFile = Type.Object(
  {
    apiVersion: Type.Literal(1),
    datasources: Type.Array(
      Type.Object(
        {
          name: Str,
          uid: Uid,
          type: Str,
          access: Type.Union([Type.Literal("proxy"), Type.Literal("direct")]),
          orgId: Type.Integer({ minimum: 1 }),
          url: Str,
          isDefault: Type.Boolean(),
          editable: Type.Boolean(),
          jsonData: Type.Record(Type.String(), Type.Unknown()),
          secureJsonData: Type.Optional(Type.Record(Type.String(), Type.String())),
        },
        closed,
      ),
      { minItems: 1 },
    ),
  },
  closed,
);

export const DashboardProvidersFile = Type.Object(
  {
    apiVersion: Type.Literal(1),
    providers: Type.Array(
      Type.Object(
        {
          name: Str,
          orgId: Type.Integer({ minimum: 1 }),
          folder: Type.String(),
          folderUid: Type.Optional(Uid),
          type: Type.Literal("file"),
          disableDeletion: Type.Boolean(),
          updateIntervalSeconds: Type.Integer({ minimum: 1 }),
          allowUiUpdates: Type.Boolean(),
          options: Type.Object(
            { path: Type.String({ pattern: "^/" }), foldersFromFilesStructure: Type.Boolean() },
            closed,
          ),
        },
        closed,
      ),
      { minItems: 1 },
    ),
  },
  closed,
);

const Query = Type.Object(
  {
    refId: Str,
    relativeTimeRange: Type.Object(
      { from: Type.Integer({ minimum: 0 }), to: Type.Integer({ minimum: 0 }) },
      closed,
    ),
    datasourceUid: Type.String({ pattern: "^([A-Za-z0-9_-]{1,40}|__expr__)$" }),
    model: Type.Object({ refId: Str, datasource: DsRef }),
  },
  closed,
);

export const PrometheusModel = Type.Object(
  {
    refId: Str,
    datasource: DsRef,
    expr: Str,
    instant: Type.Boolean(),
    range: Type.Boolean(),
    intervalMs: Type.Integer({ minimum: 1 }),
    maxDataPoints: Type.Integer({ minimum: 1 }),
  },
  closed,
);
export const ReduceModel = Type.Object(
  {
    refId: Str,
    datasource: DsRef,
    type: Type.Literal("reduce"),
    expression: Str,
    reducer: Type.Union(["last", "mean", "min", "max", "sum", "count"].map((r) => Type.Literal(r))),
    settings: Type.Object(
      {
        mode: Type.Union([Type.Literal("dropNN"), Type.Literal("replaceNN"), Type.Literal("")]),
      },
      closed,
    ),
  },
  closed,
);
export const ThresholdModel = Type.Object(
  {
    refId: Str,
    datasource: DsRef,
    type: Type.Literal("threshold"),
    expression: Str,
    conditions: Type.Array(
      Type.Object(
        {
          evaluator: Type.Object(
            {
              type: Type.Union(
                ["gt", "lt", "within_range", "outside_range"].map((t) => Type.Literal(t)),
              ),
              params: Type.Array(Type.Number(), { minItems: 1, maxItems: 2 }),
            },
            closed,
          ),
        },
        closed,
      ),
      { minItems: 1, maxItems: 1 },
    ),
  },
  closed,
);

const Rule = Type.Object(
  {
    uid: Uid,
    title: Type.String({ minLength: 1, maxLength: 190 }),
    condition: Str,
    data: Type.Array(Query, { minItems: 1 }),
    noDataState: Type.Union(["NoData", "Alerting", "OK", "KeepLast"].map((s) => Type.Literal(s))),
    execErrState: Type.Union(["Error", "Alerting", "OK", "KeepLast"].map((s) => Type.Literal(s))),
    for: Duration,
    annotations: StringMap,
    labels: StringMap,
    isPaused: Type.Boolean(),
  },
  closed,
);

export const WebhookSettings = Type.Object(
  {
    url: Str,
    httpMethod: Type.Union([Type.Literal("POST"), Type.Literal("PUT")]),
    authorization_scheme: Str,
    authorization_credentials: Str,
    hmacConfig: Type.Object(
      { secret: Str, header: Str, timestampHeader: Type.Optional(Str) },
      closed,
    ),
  },
  closed,
);

export const AlertingFile = Type.Object(
  {
    apiVersion: Type.Literal(1),
    groups: Type.Array(
      Type.Object(
        {
          orgId: Type.Integer({ minimum: 1 }),
          name: Str,
          folder: Str,
          interval: Duration,
          rules: Type.Array(Rule, { minItems: 1 }),
        },
        closed,
      ),
    ),
    contactPoints: Type.Array(
      Type.Object(
        {
          orgId: Type.Integer({ minimum: 1 }),
          name: Str,
          receivers: Type.Array(
            Type.Object(
              {
                uid: Uid,
                type: Type.Literal("webhook"),
                disableResolveMessage: Type.Boolean(),
                settings: WebhookSettings,
              },
              closed,
            ),
            { minItems: 1 },
          ),
        },
        closed,
      ),
    ),
    policies: Type.Array(
      Type.Object(
        {
          orgId: Type.Integer({ minimum: 1 }),
          receiver: Str,
          group_by: Type.Array(Str),
          group_wait: Duration,
          group_interval: Duration,
          repeat_interval: Duration,
        },
        closed,
      ),
    ),
  },
  closed,
);
