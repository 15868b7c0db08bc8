// Optional Durable storage backend: Durable Task Scheduler (managed, identity-only). The Node
// extension bundle supports it from bundle 4.32.0 (host.json's [4.*, 5.0.0) resolves to the newest 4.x).

@description('Scheduler name (3-64 letters, digits and hyphens).')
param name string

@description('Azure region.')
param location string

@description('Tags applied to the scheduler.')
param tags object

@description('Task hub name (must equal DURABLE_TASK_HUB).')
param taskHubName string

@description('Principal id of the app identity (gets Durable Task Data Contributor on the task hub).')
param principalId string

@description('Scheduler SKU: Consumption (pay per action) or Dedicated (capacity units).')
@allowed(['Consumption', 'Dedicated'])
param skuName string = 'Consumption'

var durableTaskDataContributor = '0ad04412-c4d5-4796-b79c-f76d14c8d402'

resource scheduler 'Microsoft.DurableTask/schedulers@2026-02-01' = {
  name: name
  location: location
  tags: tags
  properties: {
    ipAllowlist: ['0.0.0.0/0']
    sku: skuName == 'Dedicated' ? { name: 'Dedicated', capacity: 1 } : { name: 'Consumption' }
  }
}

resource taskHub 'Microsoft.DurableTask/schedulers/taskHubs@2026-02-01' = {
  parent: scheduler
  name: taskHubName
  properties: {}
}

resource dataContributor 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(taskHub.id, principalId, durableTaskDataContributor)
  scope: taskHub
  properties: {
    principalId: principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', durableTaskDataContributor)
  }
}

output endpoint string = scheduler.properties.endpoint
