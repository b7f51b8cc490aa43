module labplugin

go 1.19
