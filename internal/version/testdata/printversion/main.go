// Command printversion prints version.Get, for version_test.go.
package main

import (
	"fmt"

	"github.com/iamprune/iamprune/internal/version"
)

func main() { fmt.Println(version.Get()) }
