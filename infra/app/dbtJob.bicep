// Optional: dbt-core as an Azure Container Apps Job. The app starts an execution through ARM
// (`POST …/jobs/{job}/start` with an args override) and polls it.
//
// By default the job runs the public dbt image (ghcr.io/dbt-labs/dbt-snowflake, pinned below) with
// infra/dbt-job/entrypoint.py passed as `python -c`: at start the script downloads the dbt project
// from the blob DBT_PROJECT_URL with the job's managed identity. No container registry exists, so
// nothing is billed between runs (a Basic registry is about 5 USD a month). With
// usePrivateRegistry the template instead creates a registry the job pulls from with the same
// identity (AcrPull); build infra/dbt-job there (`az acr build`) and pass the image.

@description('Azure region.')
param location string

@description('Tags applied to every resource here.')
param tags object

@description('Create a private container registry for a custom dbt image (about 5 USD a month, Basic). Off: the public dbt image runs and fetches the project from blob storage.')
param usePrivateRegistry bool = false

@description('Container registry name (5-50 letters and digits, globally unique); used only with usePrivateRegistry.')
param registryName string

@description('Container Apps environment name.')
param environmentName string

@description('Container Apps Job name.')
param jobName string

@description('Custom image built from infra/dbt-job (e.g. <registry>.azurecr.io/dbt-job:1), which has the project baked in. Empty: the public dbt image, or with usePrivateRegistry a placeholder until you push yours.')
param image string = ''

@description('Public dbt image run when image is empty and no private registry is used; its Python runs entrypoint.py. dbt Labs publishes <version> tags of ghcr.io/dbt-labs/dbt-snowflake; pin one.')
param publicImage string = 'ghcr.io/dbt-labs/dbt-snowflake:1.9.0'

@description('Blob URL of the dbt project archive (.tar.gz or .tar with dbt_project.yml and profiles.yml at its top) the public image downloads at start.')
param projectArchiveUrl string

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
var runsPublicImage = empty(image) && !usePrivateRegistry
var jobImage = !empty(image) ? image : (usePrivateRegistry ? placeholderImage : publicImage)
var baseEnv = [
  { name: 'AZURE_CLIENT_ID', value: identityClientId }
  { name: 'KEY_VAULT_URL', value: keyVaultUri }
  { name: 'DBT_RESULTS_CONTAINER_URL', value: resultsContainerUrl }
]
var projectEnv = runsPublicImage ? [{ name: 'DBT_PROJECT_URL', value: projectArchiveUrl }] : []
var roles = {
  acrPull: '7f951dda-4ed3-4680-a7ca-43fe172d538d'
  containerAppsJobsOperator: 'b9a307c4-5aa3-4b52-ba60-2b17c136cd7b'
}

resource registry 'Microsoft.ContainerRegistry/registries@2023-07-01' = if (usePrivateRegistry) {
  name: registryName
  location: location
  tags: tags
  sku: { name: 'Basic' }
  properties: {
    adminUserEnabled: false
    anonymousPullEnabled: false
  }
}

resource acrPull 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (usePrivateRegistry) {
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
      registries: usePrivateRegistry ? [{ server: registry!.properties.loginServer, identity: identityResourceId }] : []
    }
    template: {
      containers: [
        {
          name: 'dbt'
          image: jobImage
          // The public image's entrypoint is `dbt`; run our script with its Python instead. The app's
          // start override copies this command and replaces only args (src/steps/dbt/containerAppsJob.ts),
          // which reach the script as sys.argv[1:].
          command: runsPublicImage ? ['python', '-c', loadTextContent('../dbt-job/entrypoint.py')] : null
          resources: { cpu: json('1.0'), memory: '2Gi' }
          env: concat(baseEnv, projectEnv)
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
output registryName string = usePrivateRegistry ? registry.name : ''
output registryLoginServer string = usePrivateRegistry ? registry!.properties.loginServer : ''
