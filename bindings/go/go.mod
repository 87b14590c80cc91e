module ftpc

go 1.19
