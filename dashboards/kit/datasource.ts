import type * as common from "@grafana/grafana-foundation-sdk/common";
import * as dashboard from "@grafana/grafana-foundation-sdk/dashboard";

/** Name of the datasource variable every dashboard has; panels and queries point at it. */
export const DATASOURCE_VARIABLE = "datasource";

/** UID of the Prometheus datasource the stack provisions; the variable's default. */
export const PROVISIONED_PROMETHEUS_UID = "prometheus";

/** Every panel and query reads from whichever Prometheus the datasource variable selects. */
export const prometheusRef: common.DataSourceRef = { type: "prometheus", uid: `\${${DATASOURCE_VARIABLE}}` };

export function datasourceVariable(): dashboard.DatasourceVariableBuilder {
  return new dashboard.DatasourceVariableBuilder(DATASOURCE_VARIABLE)
    .label("Data source")
    .type("prometheus")
    .current({ selected: true, text: "Prometheus", value: PROVISIONED_PROMETHEUS_UID });
}
