// Azure OpenAI with Entra auth only and one chat deployment; the app's identity gets
// "Cognitive Services OpenAI User".
param name string
param location string
param tags object
param userPrincipalId string
param model string
param modelVersion string

@minValue(1)
param capacity int

var openAiUserRole = subscriptionResourceId('Microsoft.Authorization/roleDefinitions', '5e0bd9bd-7b93-4f28-af87-19fc36ad61bd')

resource account 'Microsoft.CognitiveServices/accounts@2024-10-01' = {
  // checkov:skip=CKV_AZURE_134: the consumption Container Apps environment has no VNet for a private endpoint; access is Microsoft Entra only (disableLocalAuth) with one role assignment (docs/deploy.md, Hardening)
  name: name
  location: location
  tags: tags
  kind: 'OpenAI'
  sku: { name: 'S0' }
  identity: { type: 'SystemAssigned' }
  properties: {
    customSubDomainName: name
    disableLocalAuth: true
    publicNetworkAccess: 'Enabled'
  }
}

resource deployment 'Microsoft.CognitiveServices/accounts/deployments@2024-10-01' = {
  parent: account
  name: model
  sku: {
    name: 'GlobalStandard'
    capacity: capacity
  }
  properties: {
    model: {
      format: 'OpenAI'
      name: model
      version: modelVersion
    }
  }
}

resource user 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(account.id, userPrincipalId, openAiUserRole)
  scope: account
  properties: {
    principalId: userPrincipalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: openAiUserRole
  }
}

output endpoint string = account.properties.endpoint
output deploymentName string = deployment.name
