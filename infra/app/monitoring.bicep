// Log Analytics + workspace-based Application Insights, both with local (key) auth disabled:
// telemetry is accepted only with an Entra token, which the app gets from its managed identity
// (APPLICATIONINSIGHTS_AUTHENTICATION_STRING) and the Monitoring Metrics Publisher role.

@description('Log Analytics workspace name.')
param logAnalyticsName string

@description('Application Insights component name.')
param applicationInsightsName string

@description('Azure region.')
param location string

@description('Tags applied to both resources.')
param tags object

@description('Days logs are kept in the workspace.')
@minValue(30)
@maxValue(730)
param retentionInDays int = 30

module workspace 'br/public:avm/res/operational-insights/workspace:0.16.1' = {
  name: '${uniqueString(deployment().name, location)}-workspace'
  params: {
    name: logAnalyticsName
    location: location
    tags: tags
    skuName: 'PerGB2018'
    dataRetention: retentionInDays
    features: { disableLocalAuth: true }
  }
}

module appInsights 'br/public:avm/res/insights/component:0.7.2' = {
  name: '${uniqueString(deployment().name, location)}-component'
  params: {
    name: applicationInsightsName
    location: location
    tags: tags
    workspaceResourceId: workspace.outputs.resourceId
    disableLocalAuth: true
  }
}

output logAnalyticsResourceId string = workspace.outputs.resourceId
output applicationInsightsName string = appInsights.outputs.name
output applicationInsightsResourceId string = appInsights.outputs.resourceId
// Not a credential: with local auth disabled, ingestion also needs an Entra token (see rbac.bicep).
output applicationInsightsConnectionString string = appInsights.outputs.connectionString
