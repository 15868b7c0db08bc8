// Scheduled log-query alert on failed runs and late schedule slots, notifying an action group.
// The app's own Slack/Teams alert (a pipeline's `alerts`) is the first channel; this rule is the
// Azure-side backstop that also works when the app cannot send.
//
// Cost: log search alerts are priced by evaluation frequency, per time series monitored (Azure
// Monitor pricing, https://azure.microsoft.com/pricing/details/monitor/ "Alert rules": about
// $1.50/month at 5 minutes, $0.50 at 15). So: every 15 minutes, split by pipeline only (one
// series per pipeline), over a 1-hour window with auto-mitigation: each pipeline's failure
// fires one alert that resolves once its lines leave the window, and lines ingested minutes late
// (normal for Application Insights) are still counted. See docs/monitoring.md.

@description('Azure region.')
param location string

@description('Tags applied to the alert and the action group.')
param tags object

@description('Resource id of the Application Insights component the query runs against.')
param applicationInsightsResourceId string

@description('Email that receives alerts; empty creates the alert without notification (visible in Monitor > Alerts).')
param alertEmail string = ''

@description('Name prefix for the alert rule and action group.')
param namePrefix string

@description('Alert severity (0 critical … 4 verbose).')
@minValue(0)
@maxValue(4)
param severity int = 1

resource actionGroup 'Microsoft.Insights/actionGroups@2023-01-01' = if (!empty(alertEmail)) {
  name: '${namePrefix}-ag'
  location: 'global'
  tags: tags
  properties: {
    groupShortName: 'pipelines'
    enabled: true
    emailReceivers: [
      { name: 'on-call', emailAddress: alertEmail, useCommonAlertSchema: true }
    ]
  }
}

resource failedOrLate 'Microsoft.Insights/scheduledQueryRules@2023-03-15-preview' = {
  name: '${namePrefix}-failed-or-late-runs'
  location: location
  tags: tags
  properties: {
    displayName: 'durable-pipelines: failed or late runs'
    description: 'A pipeline run finished failed, or a scheduled slot fired late. See the durable-pipelines workbook and docs/monitoring.md.'
    severity: severity
    enabled: true
    scopes: [applicationInsightsResourceId]
    evaluationFrequency: 'PT15M'
    windowSize: 'PT1H'
    autoMitigate: true
    criteria: {
      allOf: [
        {
          query: loadTextContent('queries/alert-failed-or-late.kql')
          timeAggregation: 'Count'
          operator: 'GreaterThan'
          threshold: 0
          dimensions: [
            { name: 'pipeline', operator: 'Include', values: ['*'] }
          ]
          failingPeriods: {
            numberOfEvaluationPeriods: 1
            minFailingPeriodsToAlert: 1
          }
        }
      ]
    }
    actions: {
      actionGroups: empty(alertEmail) ? [] : [actionGroup.id]
    }
  }
}
