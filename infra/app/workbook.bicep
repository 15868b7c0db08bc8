// Azure Monitor workbook over Application Insights: runs per day by status, duration per step,
// rows loaded, recent failures with their error. Queries live in ./queries (one .kql each) and
// are embedded in workbook.json by build-workbook.mjs; test/unit/consistency.test.ts keeps them identical.

@description('Azure region.')
param location string

@description('Tags applied to the workbook.')
param tags object

@description('Name shown in the Portal (Monitor > Workbooks, and the App Insights Workbooks blade).')
param displayName string = 'durable-pipelines runs'

@description('Resource id of the Application Insights component the queries run against.')
param applicationInsightsResourceId string

resource workbook 'Microsoft.Insights/workbooks@2023-06-01' = {
  // Workbook names must be GUIDs; derive a stable one so redeploys update in place.
  name: guid(resourceGroup().id, applicationInsightsResourceId, 'durable-pipelines-workbook')
  location: location
  tags: tags
  kind: 'shared'
  properties: {
    displayName: displayName
    category: 'workbook'
    // Bound to the component twice: sourceId lists the workbook on the component's Workbooks blade,
    // and fallbackResourceIds is the resource its queries run against when it is opened from
    // Monitor > Workbooks instead (learn.microsoft.com/azure/azure-monitor/visualize/workbooks-automate).
    // workbook.json keeps an empty list so the file stays deployment-neutral.
    sourceId: applicationInsightsResourceId
    serializedData: string(union(loadJsonContent('workbook.json'), { fallbackResourceIds: [applicationInsightsResourceId] }))
  }
}

output workbookId string = workbook.id
