// Optional: dbt-core as an Azure Container Apps Job. The app starts an execution through ARM
// (`POST …/jobs/{job}/start` with a command override) and polls it; the container pulls its image
// from this registry with the same user-assigned identity (AcrPull), so no registry password exists.
// The image is built from infra/dbt-job (see docs/deploy.md, `az acr build`).

@description('Azure region.')
param location string

@description('Tags applied to every resource here.')
param tags object

@description('Container registry name (5-50 letters and digits, globally unique).')
param registryName string

@description('Container Apps environment name.')
param environmentName string

@description('Container Apps Job name.')
param jobName string

@description('Image the job runs, e.g. <registry>.azurecr.io/dbt-job:1. Empty deploys a public placeholder until you push the dbt image.')
param image string = ''

@description('Resource id of the user-assigned identity (pulls the image, reads Key Vault, writes results).')
param identityResourceId string

@description('Client id of that identity.')
param identityClientId string

@description('Principal id of that identity (role assignments).')
param identityPrincipalId string

@description('Log Analytics workspace that receives the environment logs through diagnostic settings (its shared key is disabled).')
param logAnalyticsResourceId string

@description('Key Vault URI the dbt container reads Snowflake secrets from.')
param keyVaultUri string

@description('Blob container URL the dbt container writes run_results.json into.')
param resultsContainerUrl string

@description('Seconds one dbt execution may run before Container Apps stops it.')
param replicaTimeoutSeconds int = 7200

@description('Subnet for the environment (delegated to Microsoft.App/environments, /27 or larger); empty for none.')
param infrastructureSubnetId string = ''

var placeholderImage = 'mcr.microsoft.com/k8se/quickstart-jobs:latest'
var roles = {
  acrPull: '7f951dda-4ed3-4680-a7ca-43fe172d538d'
  containerAppsJobsOperator: 'b9a307c4-5aa3-4b52-ba60-2b17c136cd7b'
}

resource registry 'Microsoft.ContainerRegistry/registries@2023-07-01' = {
  name: registryName
  location: location
  tags: tags
  sku: { name: 'Basic' }
  properties: {
    adminUserEnabled: false
    anonymousPullEnabled: false
  }
}

resource acrPull 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(registry.id, identityPrincipalId, roles.acrPull)
  scope: registry
  properties: {
    principalId: identityPrincipalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.acrPull)
  }
}

resource containerEnv 'Microsoft.App/managedEnvironments@2024-03-01' = {
  name: environmentName
  location: location
  tags: tags
  properties: {
    // 'log-analytics' would need the workspace shared key; diagnostic settings use Entra instead.
    appLogsConfiguration: { destination: 'azure-monitor' }
    workloadProfiles: [
      { name: 'Consumption', workloadProfileType: 'Consumption' }
    ]
    vnetConfiguration: empty(infrastructureSubnetId) ? null : {
      infrastructureSubnetId: infrastructureSubnetId
      internal: false
    }
  }
}

resource environmentLogs 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = {
  name: 'to-log-analytics'
  scope: containerEnv
  properties: {
    workspaceId: logAnalyticsResourceId
    logs: [
      { categoryGroup: 'allLogs', enabled: true }
    ]
  }
}

resource job 'Microsoft.App/jobs@2024-03-01' = {
  name: jobName
  location: location
  tags: tags
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: { '${identityResourceId}': {} }
  }
  properties: {
    environmentId: containerEnv.id
    workloadProfileName: 'Consumption'
    configuration: {
      triggerType: 'Manual'
      manualTriggerConfig: {
        parallelism: 1
        replicaCompletionCount: 1
      }
      // Our orchestrator owns retries (with its delays and error classes): no platform retry.
      replicaRetryLimit: 0
      replicaTimeout: replicaTimeoutSeconds
      registries: [
        { server: registry.properties.loginServer, identity: identityResourceId }
      ]
    }
    template: {
      containers: [
        {
          name: 'dbt'
          image: empty(image) ? placeholderImage : image
          resources: { cpu: json('1.0'), memory: '2Gi' }
          env: [
            { name: 'AZURE_CLIENT_ID', value: identityClientId }
            { name: 'KEY_VAULT_URL', value: keyVaultUri }
            { name: 'DBT_RESULTS_CONTAINER_URL', value: resultsContainerUrl }
          ]
        }
      ]
    }
  }
  dependsOn: [acrPull]
}

// The app (same identity) starts executions with an override and reads their status: the
// operator role allows start/stop/read on this one job, not on anything else.
resource jobsOperator 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(job.id, identityPrincipalId, roles.containerAppsJobsOperator)
  scope: job
  properties: {
    principalId: identityPrincipalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.containerAppsJobsOperator)
  }
}

output jobResourceId string = job.id
output registryName string = registry.name
output registryLoginServer string = registry.properties.loginServer
