// Azure AI Speech with Entra auth only (a custom subdomain, local auth off); the app's
// identity gets "Cognitive Services Speech User".
param name string
param location string
param tags object
param userPrincipalId string

var speechUserRole = subscriptionResourceId('Microsoft.Authorization/roleDefinitions', 'f2dc8367-1007-4938-bd23-fe263f013447')

resource speech 'Microsoft.CognitiveServices/accounts@2024-10-01' = {
  // checkov:skip=CKV_AZURE_134: the consumption Container Apps environment has no VNet for a private endpoint; access is Microsoft Entra only (disableLocalAuth) with one role assignment (docs/deploy.md, Hardening)
  name: name
  location: location
  tags: tags
  kind: 'SpeechServices'
  sku: { name: 'S0' }
  identity: { type: 'SystemAssigned' }
  properties: {
    customSubDomainName: name
    disableLocalAuth: true
    publicNetworkAccess: 'Enabled'
  }
}

resource user 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(speech.id, userPrincipalId, speechUserRole)
  scope: speech
  properties: {
    principalId: userPrincipalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: speechUserRole
  }
}

output id string = speech.id
output endpoint string = speech.properties.endpoint
