// Least-privilege data-plane roles for the app's identity, each scoped to one resource and named
// guid(scope, principal, role) so redeploys are idempotent.

@description('Principal (object) id of the app identity.')
param principalId string

@description('Storage account name (host storage, task hub, run records, dbt results).')
param storageAccountName string

@description('Key Vault name.')
param keyVaultName string

@description('Application Insights component name.')
param applicationInsightsName string

@description('Object id of a person or group that may write secrets (Key Vault Secrets Officer); empty for none.')
param secretsOfficerPrincipalId string = ''

@description('Principal type of secretsOfficerPrincipalId.')
@allowed(['User', 'Group', 'ServicePrincipal'])
param secretsOfficerPrincipalType string = 'User'

@description('Blob container holding the dbt project archive: the principal above may upload it (Storage Blob Data Contributor on that container only); empty for none.')
param dbtProjectContainerName string = ''

var roles = {
  storageBlobDataContributor: 'ba92f5b4-2d11-453d-a403-e96b0029c9fe'
  storageBlobDataOwner: 'b7e6dc6d-f1e8-4753-8033-0f276bb0955b'
  storageQueueDataContributor: '974c5e8b-45b9-4653-ba55-5f855dd0fb88'
  storageTableDataContributor: '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3'
  keyVaultSecretsUser: '4633458b-17de-408a-b874-0445c86b69e6'
  keyVaultSecretsOfficer: 'b86a8fe4-44ce-4948-aee5-eccb2c155cd7'
  monitoringMetricsPublisher: '3913510d-42f4-4e42-8a64-420c390055eb'
}

resource storage 'Microsoft.Storage/storageAccounts@2023-05-01' existing = {
  name: storageAccountName
}

resource dbtProjectContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' existing = if (!empty(dbtProjectContainerName)) {
  name: '${storageAccountName}/default/${dbtProjectContainerName}'
}

resource vault 'Microsoft.KeyVault/vaults@2023-07-01' existing = {
  name: keyVaultName
}

resource appInsights 'Microsoft.Insights/components@2020-02-02' existing = {
  name: applicationInsightsName
}

// Blob: host leases and the task hub's large messages, the deployment package, dbt results.
resource blobOwner 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(storage.id, principalId, roles.storageBlobDataOwner)
  scope: storage
  properties: {
    principalId: principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.storageBlobDataOwner)
  }
}

// Queue: the Durable control and work-item queues.
resource queueContributor 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(storage.id, principalId, roles.storageQueueDataContributor)
  scope: storage
  properties: {
    principalId: principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.storageQueueDataContributor)
  }
}

// Table: the Durable history/instances tables and our run records.
resource tableContributor 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(storage.id, principalId, roles.storageTableDataContributor)
  scope: storage
  properties: {
    principalId: principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.storageTableDataContributor)
  }
}

// Read secrets only: the app never writes or lists-and-deletes them.
resource secretsUser 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(vault.id, principalId, roles.keyVaultSecretsUser)
  scope: vault
  properties: {
    principalId: principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.keyVaultSecretsUser)
  }
}

// Entra-authenticated telemetry ingestion (local auth is disabled on the component).
resource metricsPublisher 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(appInsights.id, principalId, roles.monitoringMetricsPublisher)
  scope: appInsights
  properties: {
    principalId: principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.monitoringMetricsPublisher)
  }
}

resource secretsOfficer 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (!empty(secretsOfficerPrincipalId)) {
  name: guid(vault.id, secretsOfficerPrincipalId, roles.keyVaultSecretsOfficer)
  scope: vault
  properties: {
    principalId: secretsOfficerPrincipalId
    principalType: secretsOfficerPrincipalType
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.keyVaultSecretsOfficer)
  }
}

// The person deploying uploads the dbt project the public dbt image runs (docs/deploy.md).
resource dbtProjectUploader 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (!empty(secretsOfficerPrincipalId) && !empty(dbtProjectContainerName)) {
  name: guid(dbtProjectContainer.id, secretsOfficerPrincipalId, roles.storageBlobDataContributor)
  scope: dbtProjectContainer
  properties: {
    principalId: secretsOfficerPrincipalId
    principalType: secretsOfficerPrincipalType
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.storageBlobDataContributor)
  }
}
