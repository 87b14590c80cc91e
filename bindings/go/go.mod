module github.com/ftpc/ftpc/bindings/go

go 1.19
