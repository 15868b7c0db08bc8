/**
 * Kusto's own parser and semantic checker (npm `@kusto/language-service-next`, the Kusto.Language
 * library compiled to JavaScript with Bridge.NET) over Application Insights' tables, so a query
 * that names a column the table does not have, calls an unknown function or mixes types fails
 * here instead of showing an empty chart in the Portal.
 *
 * The tables and their column types are Application Insights' component-scoped ("legacy")
 * schema as Microsoft documents it: "Migrate to workspace-based Application Insights resources",
 * section "Table structure" (MicrosoftDocs/azure-monitor-docs,
 * articles/azure-monitor/app/convert-classic-resource.md), which lists each table's columns with
 * their types next to the workspace names (traces ↔ AppTraces, requests ↔ AppRequests, …).
 */
import '@kusto/language-service-next/bridge.min.js';
import '@kusto/language-service-next/Kusto.Language.Bridge.min.js';

/** The columns every Application Insights table shares. */
const COMMON = [
  'timestamp:datetime', 'operation_Name:string', 'operation_Id:string', 'operation_ParentId:string', 'operation_SyntheticSource:string',
  'session_Id:string', 'user_Id:string', 'user_AuthenticatedId:string', 'user_AccountId:string', 'application_Version:string',
  'client_Type:string', 'client_Model:string', 'client_OS:string', 'client_IP:string', 'client_City:string', 'client_StateOrProvince:string',
  'client_CountryOrRegion:string', 'client_Browser:string', 'cloud_RoleName:string', 'cloud_RoleInstance:string', 'appId:string',
  'appName:string', 'iKey:string', 'sdkVersion:string', 'itemId:string', 'itemType:string', 'customDimensions:dynamic',
];

export const APPLICATION_INSIGHTS_TABLES: Readonly<Record<string, readonly string[]>> = {
  traces: [...COMMON, 'message:string', 'severityLevel:int', 'customMeasurements:dynamic', 'itemCount:int'],
  requests: [
    ...COMMON, 'id:string', 'source:string', 'name:string', 'url:string', 'success:string', 'resultCode:string', 'duration:real',
    'performanceBucket:string', 'customMeasurements:dynamic', 'itemCount:int',
  ],
  customEvents: [...COMMON, 'name:string', 'customMeasurements:dynamic', 'itemCount:int'],
  customMetrics: [...COMMON, 'name:string', 'valueSum:real', 'valueCount:int', 'valueMax:real', 'valueMin:real'],
  dependencies: [
    ...COMMON, 'id:string', 'target:string', 'type:string', 'name:string', 'data:string', 'success:string', 'resultCode:string',
    'duration:real', 'performanceBucket:string', 'customMeasurements:dynamic', 'itemCount:int',
  ],
  exceptions: [
    ...COMMON, 'problemId:string', 'handledAt:string', 'type:string', 'message:string', 'assembly:string', 'method:string',
    'outerType:string', 'outerMessage:string', 'outerAssembly:string', 'outerMethod:string', 'innermostType:string',
    'innermostMessage:string', 'innermostAssembly:string', 'innermostMethod:string', 'severityLevel:int', 'details:dynamic',
    'customMeasurements:dynamic', 'itemCount:int',
  ],
};

/** The few Kusto.Language members used here (the package's own typings are 1.7 MB of Bridge types). */
interface KustoList<T> {
  readonly Count: number;
  getItem(index: number): T;
}
interface KustoDiagnostic {
  readonly Severity: string;
  readonly Code: string;
  readonly Message: string;
  readonly Start: number;
  readonly Length: number;
}
interface KustoLanguage {
  Symbols: {
    TableSymbol: { $ctor7: new (name: string, schema: string, description: string) => object };
    DatabaseSymbol: { ctor: new (name: string, members: object[]) => object };
  };
  GlobalState: { Default: { WithDatabase(database: object): object } };
  KustoCode: { ParseAndAnalyze(text: string, globals: object): { GetDiagnostics(): KustoList<KustoDiagnostic> } };
}

const kusto = (globalThis as unknown as { Kusto: { Language: KustoLanguage } }).Kusto.Language;

function applicationInsightsGlobals(): object {
  const tables = Object.entries(APPLICATION_INSIGHTS_TABLES).map(([name, columns]) => new kusto.Symbols.TableSymbol.$ctor7(name, `(${columns.join(', ')})`, ''));
  return kusto.GlobalState.Default.WithDatabase(new kusto.Symbols.DatabaseSymbol.ctor('applicationInsights', tables));
}

let globals: object | undefined;

export interface KqlProblem {
  readonly severity: string;
  readonly code: string;
  readonly message: string;
  /** The text the problem points at. */
  readonly at: string;
}

/** Parses and type-checks `query` against the Application Insights tables; errors and warnings. */
export function checkKql(query: string): KqlProblem[] {
  globals ??= applicationInsightsGlobals();
  const diagnostics = kusto.KustoCode.ParseAndAnalyze(query, globals).GetDiagnostics();
  const problems: KqlProblem[] = [];
  for (let i = 0; i < diagnostics.Count; i++) {
    const d = diagnostics.getItem(i);
    problems.push({ severity: d.Severity, code: d.Code, message: d.Message, at: query.slice(d.Start, d.Start + Math.max(d.Length, 1)) });
  }
  return problems;
}
