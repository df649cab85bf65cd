package store

// SearchTrigrams exposes searchTrigrams to the external tests.
var SearchTrigrams = searchTrigrams
