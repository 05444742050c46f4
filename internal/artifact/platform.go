package artifact

import (
	"debug/elf"
	"fmt"
	"io"
)

// DetectPlatform reads the GOOS and GOARCH an ELF executable is for from
// its header ("linux", "arm"). It names what it cannot tell.
func DetectPlatform(r io.ReaderAt) (goos, goarch string, err error) {
	f, err := elf.NewFile(r)
	if err != nil {
		return "", "", fmt.Errorf("read ELF header: %w (give --os and --arch for a file that is not an ELF executable)", err)
	}
	defer f.Close()
	goos, err = elfOS(f.OSABI)
	if err != nil {
		return "", "", err
	}
	goarch, err = elfArch(f.Machine, f.Class, f.ByteOrder.String())
	return goos, goarch, err
}

func elfOS(abi elf.OSABI) (string, error) {
	switch abi {
	case elf.ELFOSABI_NONE, elf.ELFOSABI_LINUX: // Go's linux binaries say NONE
		return "linux", nil
	case elf.ELFOSABI_FREEBSD:
		return "freebsd", nil
	case elf.ELFOSABI_NETBSD:
		return "netbsd", nil
	case elf.ELFOSABI_OPENBSD:
		return "openbsd", nil
	}
	return "", fmt.Errorf("ELF OS ABI %v: not one tether knows; give --os", abi)
}

func elfArch(m elf.Machine, class elf.Class, order string) (string, error) {
	little := order == "LittleEndian"
	is64 := class == elf.ELFCLASS64
	switch m {
	case elf.EM_X86_64:
		return "amd64", nil
	case elf.EM_386:
		return "386", nil
	case elf.EM_ARM:
		return "arm", nil
	case elf.EM_AARCH64:
		return "arm64", nil
	case elf.EM_RISCV:
		if is64 {
			return "riscv64", nil
		}
	case elf.EM_MIPS:
		switch {
		case is64 && little:
			return "mips64le", nil
		case is64:
			return "mips64", nil
		case little:
			return "mipsle", nil
		default:
			return "mips", nil
		}
	case elf.EM_PPC64:
		if little {
			return "ppc64le", nil
		}
		return "ppc64", nil
	case elf.EM_S390:
		return "s390x", nil
	case elf.EM_LOONGARCH:
		return "loong64", nil
	}
	return "", fmt.Errorf("ELF machine %v (%v): not one tether knows; give --arch", m, class)
}
