// Dashboard variables through Grafana's custom variable support: the variable
// editor stores a VariableQuery, and values come from GET /api/v1/variables/{kind}.
import {
  CustomVariableSupport,
  type DataQueryRequest,
  type DataQueryResponse,
} from "@grafana/data";
import { from, type Observable } from "rxjs";
import { VariableQueryEditor } from "./components/VariableQueryEditor";
import type { DataSource } from "./datasource";
import type { VariableQuery } from "./types";

export class KernelVariableSupport extends CustomVariableSupport<DataSource, VariableQuery> {
  editor = VariableQueryEditor;

  constructor(private readonly ds: DataSource) {
    super();
  }

  query(request: DataQueryRequest<VariableQuery>): Observable<DataQueryResponse> {
    const q = request.targets[0];
    return from(
      (q
        ? this.ds.metricFindQuery(q, { scopedVars: request.scopedVars })
        : Promise.resolve([])
      ).then((values) => ({
        data: values,
      })),
    );
  }
}
